/**
 * Run as a child process by test/client-connection.test.ts: connects through the URL in
 * argv, creates a channel and subscribes, waits until the connection is cut (the parent cuts it), leaves a
 * request pending, then closes the client. With nothing left behind (timers, sockets,
 * rejections) the process exits on its own at once.
 */
import { createClient } from '../../client/src/index.js';

process.on('unhandledRejection', (reason) => {
  console.log(JSON.stringify({ unhandled: String(reason) }));
  process.exit(3);
});

const client = createClient({
  url: process.argv[2]!,
  user: 'closer',
  // Long enough that a forgotten timer would keep the process alive well past the parent's limit.
  backoff: { initialDelayMs: 20_000, maxDelayMs: 20_000, random: () => 0.99 },
  requestTimeoutMs: 60_000,
  heartbeatMs: 60_000,
});
await client.createChannel({ channel: 'room', type: 'public' });
await client.subscribe('room', () => {});
// After the event, so the 20 s reconnect timer is already set when close() runs.
client.once('reconnecting', () => queueMicrotask(closeWhileReconnecting));

function closeWhileReconnecting(): void {
  // Pending while disconnected: it must reject with `closed` when the client closes.
  const pending = client.ping().then(
    () => 'resolved',
    (error: { code: string }) => error.code,
  );
  void client.close().then(async () => {
    console.log(JSON.stringify({ state: client.state, pending: await pending }));
  });
}
console.log(JSON.stringify({ ready: true }));
