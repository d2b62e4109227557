import { describe, expect, it } from 'vitest';
import { type Decide, expectAnsweredAtTimeout, startGrpcBackend, startHttpBackend, type TestBackend, timeoutClock } from './helpers/hook-backend.js';
import { type PusherFrame, PusherSocket } from './helpers/pusher-socket.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

/**
 * Pusher apps that opt in (`pusher.apps[].subscribeHook`): the app's subscribe hook, not
 * the client's auth signature, decides private- and presence- subscriptions, and its
 * `info` is the presence member's user_info. Against a real HTTP backend and a real gRPC one.
 */

const BACKENDS = { http: startHttpBackend, grpc: startGrpcBackend } as const;

const HOOKED = { id: '2001', key: 'hooked-key', secret: 'hooked-secret-0123456789', subscribeHook: 'app' };
const SIGNED = { id: '2002', key: 'signed-key', secret: 'signed-secret-0123456789', channelPrefix: 'signed:' };
const TIMEOUT_MS = 300;

async function serverWith(backend: TestBackend, timeoutMs = 10_000): Promise<TestServer> {
  return startTestServer({
    overrides: {
      pusher: { apps: [HOOKED, SIGNED] },
      hooks: { backends: { app: { ...backend.settings, timeoutMs, retries: 1 } } },
    } as never,
  });
}

function dataOf(frame: PusherFrame): Record<string, unknown> {
  return (typeof frame.data === 'string' ? JSON.parse(frame.data) : frame.data) as Record<string, unknown>;
}

async function connect(server: TestServer, key = HOOKED.key): Promise<{ socket: PusherSocket; socketId: string }> {
  const socket = new PusherSocket(server.url, key);
  const established = await socket.waitFor((f) => f.event === 'pusher:connection_established');
  return { socket, socketId: String(dataOf(established).socket_id) };
}

/** The answer to subscribing `channel`: its subscription_succeeded or subscription_error frame. */
async function subscribe(socket: PusherSocket, channel: string, data: Record<string, unknown> = {}): Promise<PusherFrame> {
  socket.send({ event: 'pusher:subscribe', data: { channel, ...data } });
  return socket.waitFor(
    (f) => f.channel === channel && (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error'),
  );
}

const seats: Decide = (hook, request) => {
  if (hook !== 'subscribe') return { result: {} };
  if (request.channel === 'private-vault') return { error: { code: 'forbidden', message: 'Not your vault.' } };
  if (request.channel === 'private-shop') return { error: { code: 'not_a_customer', message: 'Buy something first.' } };
  if (request.channel === 'private-slow') return 'hang';
  return { result: request.user ? { info: { seat: `${String(request.user)}-seat` } } : {} };
};

for (const [kind, startBackend] of Object.entries(BACKENDS)) {
  describe(`Pusher apps with a subscribe hook over ${kind}`, () => {
    it('allows private and presence subscriptions without a signature; the hook info is the presence user_info', async () => {
      const backend = await startBackend(seats);
      const server = await serverWith(backend);
      const { socket: ann, socketId } = await connect(server);
      expect((await subscribe(ann, 'private-orders')).event).toBe('pusher_internal:subscription_succeeded');
      const asked = await backend.waitForCall((c) => c.request.channel === 'private-orders');
      expect(asked.request).toMatchObject({ transport: 'pusher', channel: 'private-orders', session: socketId });
      expect(asked.request.user ?? null).toBeNull();
      if (kind === 'http') expect(asked.signed).toBe(true);

      // The client's own user_info is not what others see: the backend's info is.
      const joined = await subscribe(ann, 'presence-room', { channel_data: JSON.stringify({ user_id: 'ann', user_info: { seat: 'claimed' } }) });
      expect(dataOf(joined)).toEqual({ presence: { ids: ['ann'], hash: { ann: { seat: 'ann-seat' } }, count: 1 } });
      const { socket: bob } = await connect(server);
      await subscribe(bob, 'presence-room', { channel_data: JSON.stringify({ user_id: 'bob' }) });
      const added = await ann.waitFor((f) => f.event === 'pusher_internal:member_added' && f.channel === 'presence-room');
      expect(dataOf(added)).toEqual({ user_id: 'bob', user_info: { seat: 'bob-seat' } });
      expect((await backend.waitForCall((c) => c.request.user === 'bob')).request).toMatchObject({ channel: 'presence-room' });

      // A presence channel needs someone to ask about.
      const nobody = await subscribe(bob, 'presence-empty');
      expect(nobody.event).toBe('pusher:subscription_error');
      expect(dataOf(nobody)).toMatchObject({ type: 'AuthError', status: 401 });
    });

    it("refuses with the backend's code and message in pusher:subscription_error", async () => {
      const backend = await startBackend(seats);
      const server = await serverWith(backend);
      const { socket } = await connect(server);
      const refused = await subscribe(socket, 'private-vault');
      expect(refused.event).toBe('pusher:subscription_error');
      expect(dataOf(refused)).toEqual({ type: 'AuthError', error: 'Not your vault.', status: 403, code: 'forbidden' });
      // A code outside Switchboard's arrives as it is, with forbidden's status.
      expect(dataOf(await subscribe(socket, 'private-shop'))).toEqual({ type: 'AuthError', error: 'Buy something first.', status: 403, code: 'not_a_customer' });
      // The connection goes on: a later subscription works.
      expect((await subscribe(socket, 'private-orders')).event).toBe('pusher_internal:subscription_succeeded');
    });

    it('a backend that does not answer: unavailable within the timeout plus 100 ms', async () => {
      const backend = await startBackend(seats);
      const server = await serverWith(backend, TIMEOUT_MS);
      const { socket } = await connect(server);
      const clock = timeoutClock(TIMEOUT_MS);
      const refused = await subscribe(socket, 'private-slow');
      await expectAnsweredAtTimeout(clock);
      expect(dataOf(refused)).toMatchObject({ type: 'AuthError', status: 503, code: 'unavailable' });
    });

    it('a backend that is down: hooked subscriptions get unavailable; public channels and apps without the hook go on', async () => {
      const backend = await startBackend(seats);
      const server = await serverWith(backend);
      await backend.stop();
      const { socket } = await connect(server);
      expect(dataOf(await subscribe(socket, 'private-orders'))).toMatchObject({ status: 503, code: 'unavailable' });
      expect((await subscribe(socket, 'news')).event).toBe('pusher_internal:subscription_succeeded');
      // The app that did not opt in keeps the signature check, and never asks the backend.
      const { socket: signed } = await connect(server, SIGNED.key);
      expect(dataOf(await subscribe(signed, 'private-orders'))).toEqual({ type: 'AuthError', error: 'Invalid signature.', status: 401 });
      expect((await subscribe(signed, 'news')).event).toBe('pusher_internal:subscription_succeeded');
      expect(backend.calls).toEqual([]);
    });
  });
}
