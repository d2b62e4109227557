import { expect, it } from 'vitest';
import { ERROR_CODE_KEY } from '../src/transports/grpc/grpc-errors.js';
import { as, call, failure, grpcClient } from './helpers/grpc-test-client.js';
import { databaseBehindOutageProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * While PostgreSQL cannot be reached, every command that needs it answers `unavailable`
 * on every wire — core's (publish, history), chat's (contacts, search, read state) and
 * auth's (a connect ticket) alike — never `internal`, and works again once it is back.
 * The database goes away behind a proxy, so only this test's server loses it.
 */
const clients = useWsClients();

const COMMANDS: readonly [name: string, input: Record<string, unknown>, rest: [method: string, path: string, body?: unknown]][] = [
  ['publish', { channel: 'room', text: 'during the outage' }, ['POST', '/api/channels/room/messages', { text: 'during the outage' }]],
  ['history', { channel: 'room' }, ['GET', '/api/channels/room/messages']],
  ['contacts.list', {}, ['GET', '/api/me/contacts']],
  ['search', { text: 'outage' }, ['GET', '/api/search?text=outage']],
  ['read.mark', { channel: 'room', seq: 1 }, ['PUT', '/api/channels/room/read', { seq: 1 }]],
  ['ticket.create', {}, ['POST', '/api/tickets', {}]],
];
const RPCS: Record<string, string> = {
  publish: 'Publish',
  history: 'History',
  'contacts.list': 'ListContacts',
  search: 'Search',
  'read.mark': 'MarkRead',
  'ticket.create': 'CreateTicket',
};

describeWithServices(['TEST_DATABASE_URL'], 'a database outage, seen from every wire', () => {
  it('answers unavailable for core, chat and auth commands on /ws, REST and gRPC, and recovers', async () => {
    const { proxy, proxiedUrl } = await databaseBehindOutageProxy('wires');
    const server = await startTestServer({ databaseUrl: proxiedUrl });

    const alice = await clients.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'room', channelType: 'public' });
    await alice.ok('publish', { channel: 'room', text: 'before' });
    const grpc = grpcClient(server);
    const rest = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { 'x-switchboard-user': 'alice', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // Recorded before the cut: REST writes a user on their first request.
    expect((await rest('GET', '/api/channels/room')).status).toBe(200);

    proxy.cut();
    for (const [name, input, [method, path, body]] of COMMANDS) {
      const reply = await alice.request(name, input);
      expect({ wire: 'ws', name, code: reply.code }).toEqual({ wire: 'ws', name, code: 'unavailable' });

      const response = await rest(method, path, body);
      expect({ wire: 'rest', name, status: response.status, body: await response.json() }).toMatchObject({
        status: 503,
        body: { code: 'unavailable' },
      });

      const error = await failure(call(grpc, RPCS[name]!, input, as('alice')));
      expect({ wire: 'grpc', name, code: error.code, error: error.metadata.get(ERROR_CODE_KEY)[0] }).toEqual({
        wire: 'grpc',
        name,
        code: 14,
        error: 'unavailable',
      });
    }

    proxy.restore();
    // The pool reconnects on the next query: the same commands work again on every wire.
    await expect.poll(async () => (await alice.request('history', { channel: 'room' })).type, { timeout: 10_000 }).toBe('ok');
    expect((await rest('GET', '/api/me/contacts')).status).toBe(200);
    expect(await call(grpc, 'Publish', { channel: 'room', text: 'after' }, as('alice'))).toMatchObject({ seq: 2 });
  });
});
