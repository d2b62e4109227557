import { readFileSync, writeFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BINDINGS, isServed, type RestRoute } from '../protocol/bindings.js';
import { ERROR_CODES } from '../protocol/codes.js';
import { COMMAND_NAMES, COMMANDS, type CommandName } from '../protocol/commands.js';
import { startTestServer } from './helpers/test-server.js';

interface Operation {
  operationId: string;
  summary: string;
  security: Record<string, unknown>[];
  requestBody?: { content: { 'application/json': { schema: { properties?: Record<string, unknown> } } } };
  parameters?: { name: string; in: string; required?: boolean }[];
  responses: Record<string, { description: string; content?: { 'application/json': { schema: unknown } } }>;
}

/** Every REST route protocol/bindings.ts gives a command. */
const REST: { name: CommandName; route: RestRoute }[] = COMMAND_NAMES.flatMap((name) => {
  const route = BINDINGS[name].rest;
  return isServed(route) ? [{ name, route }] : [];
});

const fieldsOf = (name: CommandName): string[] => {
  const input = COMMANDS[name].input;
  return input instanceof z.ZodObject ? Object.keys(input.shape) : [];
};
const pathFieldsOf = (path: string) => [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
const takesBody = (route: RestRoute) => route.method !== 'GET' && route.method !== 'DELETE';

describe('OpenAPI', () => {
  it('serves /openapi.json that validates as OpenAPI 3.1 and documents every REST binding from its command contract', async () => {
    const server = await startTestServer();
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    const spec = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(spec.openapi).toBe('3.1.0');

    const validator = new Validator();
    const result = await validator.validate(spec as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');

    expect(REST.length).toBeGreaterThan(30);
    const errorStatuses = [...new Set(Object.values(ERROR_CODES).map((entry) => String(entry.http)))];
    for (const { name, route } of REST) {
      const path = route.path.replace(/:(\w+)/g, '{$1}');
      const operation = spec.paths[path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${path} (${name})`).toBeDefined();
      const contract = COMMANDS[name];
      expect(operation).toMatchObject({ operationId: name, summary: contract.summary });
      // Who may call it: an API key for the app's backend, a user's credentials for user commands.
      const schemes = operation!.security.flatMap((entry) => Object.keys(entry)).sort();
      expect(schemes, name).toEqual(
        { any: ['apiKey', 'bearer', 'openUser'], user: ['bearer', 'openUser'], server: ['apiKey', 'bearer'] }[contract.caller],
      );

      // The input, split into path, query and body.
      const inPath = pathFieldsOf(route.path);
      const rest = fieldsOf(name).filter((field) => !inPath.includes(field));
      const parameters = operation!.parameters ?? [];
      expect(parameters.filter((p) => p.in === 'path').map((p) => p.name).sort(), name).toEqual([...inPath].sort());
      const query = parameters.filter((p) => p.in === 'query').map((p) => p.name).sort();
      const body = Object.keys(operation!.requestBody?.content['application/json'].schema.properties ?? {}).sort();
      expect(takesBody(route) ? body : query, name).toEqual([...rest].sort());
      expect(takesBody(route) ? query : body, name).toEqual([]);

      // The result with the binding's status, and every error status with the shared body.
      const successes = route.statusOf ? ['200', '201'] : [String(route.status)];
      expect(Object.keys(operation!.responses).sort(), name).toEqual([...successes, ...errorStatuses].sort());
      if (route.status === 204) expect(operation!.responses['204']!.content, name).toBeUndefined();
      else expect(operation!.responses[successes[0]!]!.content, name).toBeDefined();
      for (const status of errorStatuses) {
        expect(operation!.responses[status]!.content!['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }

    const publish = spec.paths['/api/channels/{channel}/messages']!.post!;
    expect(publish.responses['201']!.content!['application/json'].schema).toEqual({ $ref: '#/components/schemas/EventAck' });
    expect(publish.responses['429']!.description).toContain('`rate_limited`');
    expect(Object.keys(spec.components.schemas)).toEqual(
      expect.arrayContaining(['Channel', 'Event', 'EventAck', 'Error', 'User', 'Member']),
    );
    // The credential exchanges are routes of their own, documented too.
    for (const path of ['/api/auth/register', '/api/auth/login', '/api/auth/refresh', '/api/auth/logout']) {
      expect(spec.paths[path]?.post?.requestBody, path).toBeDefined();
    }

    const docs = await fetch(`${server.url}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });
});

const BEGIN = '<!-- rest-routes:begin (generated from protocol/bindings.ts by test/openapi.test.ts) -->';
const END = '<!-- rest-routes:end -->';
const DOC = new URL('../docs/http-api.md', import.meta.url);

describe('docs/http-api.md', () => {
  it('lists every REST route of protocol/bindings.ts as the bindings give it (UPDATE_DOCS=1 rewrites the table)', () => {
    const text = readFileSync(DOC, 'utf8');
    const start = text.indexOf(BEGIN);
    const end = text.indexOf(END);
    expect(start, 'docs/http-api.md has the generated route table').toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const table = routeTable();
    const current = text.slice(start + BEGIN.length, end);
    if (process.env.UPDATE_DOCS && current !== table) {
      writeFileSync(DOC, text.slice(0, start + BEGIN.length) + table + text.slice(end));
      return;
    }
    expect(current).toBe(table);
    for (const { route } of REST) expect(text).toContain(`\`${route.method} ${route.path}\``);
  });
});

/** The route table of docs/http-api.md: method and path, command, what it does, input, answer. */
function routeTable(): string {
  const rows = REST.map(({ name, route }) => {
    const contract = COMMANDS[name];
    const inPath = pathFieldsOf(route.path);
    const shape = contract.input instanceof z.ZodObject ? (contract.input.shape as Record<string, z.ZodType>) : {};
    const fields = Object.entries(shape)
      .filter(([field]) => !inPath.includes(field))
      .map(([field, schema]) => `${field}${schema.safeParse(undefined).success ? '?' : ''}`);
    const input = fields.length === 0 ? '' : takesBody(route) ? `body \`{${fields.join(', ')}}\`` : `query ${fields.map((f) => `\`${f}\``).join(' ')}`;
    const statuses = route.statusOf ? '201 (200: nothing new)' : String(route.status);
    const answer = route.status === 204 ? '204, no body' : `${statuses} ${shapeName(contract.result)}`;
    return `| \`${route.method} ${route.path}\` | \`${name}\` | ${contract.summary} | ${input} | ${answer} |`;
  });
  return ['', '| route | command | what it does | input | answer |', '| --- | --- | --- | --- | --- |', ...rows, ''].join('\n');
}

function shapeName(schema: z.ZodType): string {
  const id = z.globalRegistry.get(schema)?.id;
  if (id) return `\`${id}\``;
  if (schema instanceof z.ZodObject) return `\`{${Object.keys(schema.shape).join(', ')}}\``;
  return '';
}
