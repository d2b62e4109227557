import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, COMMANDS, type CommandName } from '../protocol/commands.js';
import { startTestServer } from './helpers/test-server.js';
import { type ServerFrame, type WsTestClient, useWsClients } from './helpers/ws-test-client.js';

/**
 * /ws has no table of commands: a frame's `type` names a command of protocol/commands.ts
 * and the pipeline runs it. So every command is reachable, and its input is checked by
 * the protocol's schema, with no code per command in the adapter. The expectations here
 * are derived from the protocol module, so a command added there is covered at once.
 */
const clients = useWsClients();
const API_KEY = 'ws-commands-key-0123456789';

/**
 * What the pipeline answers a caller of this kind before running anything: the caller
 * check first, then the input against the command's schema. Null: it runs the command.
 */
function refusalFor(name: CommandName, caller: 'user' | 'server', input: Record<string, unknown>) {
  const contract = COMMANDS[name];
  if (contract.caller === 'server' && caller === 'user') return { code: 'forbidden', invalidInput: false };
  if (contract.caller === 'user' && caller === 'server') return { code: 'bad_request', invalidInput: false };
  return contract.input.safeParse(input).success ? null : { code: 'bad_request', invalidInput: true };
}

async function connectBackend(wsUrl: string): Promise<WsTestClient> {
  const backend = clients.open(wsUrl, { headers: { authorization: `Bearer ${API_KEY}` } });
  await backend.waitFor((f) => f.type === 'welcome');
  return backend;
}

describe('every command over /ws', () => {
  it('reaches every command of the protocol, and refuses a name that is none', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const alice = await clients.connect(server.wsUrl, 'alice');
    const backend = await connectBackend(server.wsUrl);

    for (const [client, caller] of [
      [alice, 'user'],
      [backend, 'server'],
    ] as const) {
      for (const name of COMMAND_NAMES) {
        const reply: ServerFrame = await client.request(name, {});
        const what = `${name} as ${caller}: ${JSON.stringify(reply)}`;
        expect(['ok', 'error'], what).toContain(reply.type);
        expect(reply.code, what).not.toBe('unknown_command');
        const refusal = refusalFor(name, caller, {});
        if (refusal !== null) expect(reply.code, what).toBe(refusal.code);
        // The protocol's one message format for invalid input, on every command.
        if (refusal?.invalidInput) expect(reply.message, what).toMatch(/^Invalid [\w.]+: .+\.$/);
      }
    }
    expect(await alice.request('channel.destroy', { channel: 'x' })).toMatchObject({
      type: 'error',
      code: 'unknown_command',
    });
  });

  it('checks every command input against its protocol schema: an unknown field is refused', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const alice = await clients.connect(server.wsUrl, 'alice');
    const backend = await connectBackend(server.wsUrl);

    for (const name of COMMAND_NAMES) {
      const client = COMMANDS[name].caller === 'server' ? backend : alice;
      const reply = await client.request(name, { zzz: 1 });
      expect(reply, name).toMatchObject({ type: 'error', code: 'bad_request' });
      // The first problem is named: a missing field before the unknown one.
      const named = COMMANDS[name].input.safeParse({}).success ? /^Invalid request: .*"zzz"/ : /^Invalid [\w.]+: .+\.$/;
      expect(reply.message, name).toMatch(named);
    }
    // Nothing of it was stored or created.
    expect(await alice.ok('channel.list')).toEqual({ channels: [], next: null });
  });
});
