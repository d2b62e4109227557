import { describe, expect, it } from 'vitest';
import { BINDINGS, isServed } from '../protocol/bindings.js';
import { COMMAND_NAMES, type CommandName } from '../protocol/commands.js';
import { ERROR_CODE_KEY } from '../src/transports/grpc/grpc-errors.js';
import { as, call, grpcClient } from './helpers/grpc-test-client.js';
import { parityTable } from './helpers/protocol-tables.js';
import { startTestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * Every command is reachable on every wire unless protocol/bindings.ts says why not: the
 * parity table in docs/protocol.md is rendered from the same table (test/protocol-docs).
 * Each command is sent with an empty input on /ws, REST and gRPC; the answer may be a
 * refusal of that input, never "no such command" (/ws `unknown_command`, a REST route
 * that does not exist, gRPC UNIMPLEMENTED).
 */
const clients = useWsClients();

/** A REST path with every `:field` filled in, so the route matches. */
function concretePath(path: string): string {
  return path.replace(/:(\w+)/g, (_, field: string) => (field === 'seq' ? '1' : field === 'emoji' ? '%F0%9F%91%8D' : 'x'));
}

describe('parity: every command on every wire', () => {
  it('has a handler for every command of the protocol on a full node', async () => {
    const server = await startTestServer();
    expect(server.edge.registry.unserved).toEqual([]);
    expect(parityTable()).toContain('| `publish` | ✓ |');
  });

  it('reaches every command on /ws, REST and gRPC, except where the bindings give a reason', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    const grpc = grpcClient(server);
    const unreachable: string[] = [];
    const reached = { ws: 0, rest: 0, grpc: 0 };

    for (const name of COMMAND_NAMES as CommandName[]) {
      const reply = await alice.request(name, {});
      if (reply.code === 'unknown_command') unreachable.push(`ws ${name}`);
      else reached.ws++;

      const { rest, grpc: method } = BINDINGS[name];
      if (isServed(rest)) {
        const response = await fetch(`${server.url}${concretePath(rest.path)}`, {
          method: rest.method,
          headers: { 'x-switchboard-user': 'alice', ...(rest.method === 'GET' || rest.method === 'DELETE' ? {} : { 'content-type': 'application/json' }) },
          body: rest.method === 'GET' || rest.method === 'DELETE' ? undefined : '{}',
        });
        const text = await response.text();
        // A refusal is the protocol's envelope; a missing route is Fastify's own 404.
        const body = text === '' ? null : (JSON.parse(text) as { code?: string; message?: string });
        if (response.status === 404 && body?.code === undefined) unreachable.push(`REST ${name} ${rest.method} ${rest.path}`);
        else reached.rest++;
      } else expect(rest.notServed.length, `${name}: a reason`).toBeGreaterThan(20);

      if (isServed(method)) {
        if (method.stream) {
          // A stream is reached when it opens or refuses the empty input with the protocol's error.
          const stream = (grpc as unknown as Record<string, Function>)[method.rpc]!.call(grpc, {}, as('alice'));
          const status = await new Promise<{ code: number; error: unknown }>((resolve) => {
            stream.on('data', () => {
              stream.cancel();
              resolve({ code: 0, error: null });
            });
            stream.on('error', (error: { code: number; metadata: { get(key: string): unknown[] } }) =>
              resolve({ code: error.code, error: error.metadata.get(ERROR_CODE_KEY)[0] }),
            );
          });
          if (status.code === 12 && status.error !== 'unknown_command') unreachable.push(`gRPC ${name} ${method.rpc}`);
          else reached.grpc++;
        } else {
          const outcome = await call(grpc, method.rpc, {}, as('alice')).then(
            () => ({ code: 0, error: null as unknown }),
            (error: { code: number; metadata: { get(key: string): unknown[] } }) => ({ code: error.code, error: error.metadata.get(ERROR_CODE_KEY)[0] }),
          );
          // UNIMPLEMENTED without our trailer is grpc-js: no such method on the service.
          if (outcome.code === 12 && outcome.error === undefined) unreachable.push(`gRPC ${name} ${method.rpc}`);
          else reached.grpc++;
        }
      } else expect(method.notServed.length, `${name}: a reason`).toBeGreaterThan(20);
    }

    expect(unreachable).toEqual([]);
    const served = (wire: 'rest' | 'grpc') => COMMAND_NAMES.filter((name) => isServed(BINDINGS[name][wire])).length;
    expect(reached).toEqual({ ws: COMMAND_NAMES.length, rest: served('rest'), grpc: served('grpc') });
  });

  it('tells a missing route apart from a refused command (the check above can fail)', async () => {
    const server = await startTestServer();
    const response = await fetch(`${server.url}/api/no-such-route`, { headers: { 'x-switchboard-user': 'alice' } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { code?: string }).code).toBeUndefined();
    const grpc = grpcClient(server);
    // A method the service does not have: UNIMPLEMENTED from grpc-js, without our trailer.
    const outcome = await new Promise<{ code: number; error: unknown }>((resolve) => {
      grpc.makeUnaryRequest(
        '/switchboard.v1.Switchboard/NoSuchRpc',
        (value: Buffer) => value,
        (value: Buffer) => value,
        Buffer.alloc(0),
        as('alice'),
        (error) => resolve({ code: error?.code ?? 0, error: error?.metadata.get(ERROR_CODE_KEY)[0] }),
      );
    });
    expect(outcome).toEqual({ code: 12, error: undefined });
  });
});
