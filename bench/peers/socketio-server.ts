/**
 * The Socket.IO 4 peer with its documented production settings: websocket transport only,
 * perMessageDeflate off, bufferutil and utf-8-validate installed (ws picks them up).
 * Rooms carry the channels; a publish is acked once it was handed to the room.
 *
 * Usage: node --import tsx bench/peers/socketio-server.ts PORT
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2]);
const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });

io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room === 'string') void socket.join(room);
  socket.on('publish', (message: { room?: string }, ack?: () => void) => {
    if (typeof message?.room === 'string') io.to(message.room).emit('message', message);
    if (typeof ack === 'function') ack();
  });
});
http.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => io.close(() => process.exit(0)));
