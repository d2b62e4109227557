import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/test-server.js';

describe('OpenAPI', () => {
  it('serves /openapi.json that validates as OpenAPI 3.1 and documents every REST route from its schemas', async () => {
    const server = await startTestServer();
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    const spec = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown; parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(spec.openapi).toBe('3.1.0');

    const validator = new Validator();
    const result = await validator.validate(spec as unknown as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');

    const operations = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /api/channels',
        'GET /api/channels',
        'GET /api/channels/{channel}',
        'PATCH /api/channels/{channel}',
        'DELETE /api/channels/{channel}',
        'GET /api/channels/{channel}/members',
        'POST /api/channels/{channel}/members',
        'DELETE /api/channels/{channel}/members/{user}',
        'GET /api/channels/{channel}/presence',
        'POST /api/channels/{channel}/messages',
        'GET /api/channels/{channel}/messages',
        'PATCH /api/channels/{channel}/messages/{seq}',
        'DELETE /api/channels/{channel}/messages/{seq}',
        'POST /api/messages/batch',
        'POST /api/events',
        'GET /api/users',
        'GET /api/users/{user}',
        'PATCH /api/users/{user}',
      ]),
    );
    // The request and response shapes come from the zod schemas the routes validate with.
    const publish = spec.paths['/api/channels/{channel}/messages']!.post!;
    expect(JSON.stringify(publish.requestBody)).toContain('cid');
    expect(Object.keys(publish.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403']));
    const history = spec.paths['/api/channels/{channel}/messages']!.get!;
    expect(history.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['path:channel', 'query:before', 'query:after', 'query:limit']),
    );
    expect(Object.keys(spec.components.schemas)).toEqual(expect.arrayContaining(['Channel', 'Event', 'Error', 'User', 'Member']));

    const docs = await fetch(`${server.url}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });
});
