/**
 * The Socket.IO 4 peer with its documented production settings: websocket transport only,
 * perMessageDeflate off, bufferutil and utf-8-validate installed (ws picks them up).
 * Rooms carry the channels; a publish is acked once it was handed to the room.
 *
 * With a Redis URL it is one node of a cluster: `@socket.io/redis-adapter` over ioredis
 * carries every room broadcast to the other nodes. A `prefix` query parameter (as
 * Switchboard's `--redis` takes) becomes the adapter's key, so a run's nodes share their
 * broadcasts only with each other on a shared Redis.
 *
 * Usage: node --import tsx bench/peers/socketio-server.ts PORT [REDIS_URL]
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.argv[2]);
const redisUrl = process.argv[3] ? new URL(process.argv[3]) : null;
const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });

const redisClients: Redis[] = [];
if (redisUrl) {
  const key = redisUrl.searchParams.get('prefix') ?? 'socket.io';
  redisUrl.searchParams.delete('prefix');
  const pub = new Redis(redisUrl.toString(), { lazyConnect: true });
  const sub = pub.duplicate();
  redisClients.push(pub, sub);
  // Connected before the port opens: the harness starts publishing once it can connect.
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub, { key }));
}

io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room === 'string') void socket.join(room);
  socket.on('publish', (message: { room?: string }, ack?: () => void) => {
    if (typeof message?.room === 'string') io.to(message.room).emit('message', message);
    if (typeof ack === 'function') ack();
  });
});
http.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () =>
  io.close(() => {
    for (const client of redisClients) client.disconnect();
    process.exit(0);
  }),
);
