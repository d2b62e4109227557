/**
 * The raw `ws` peer: the broadcast example from the ws README with rooms and an ack, and
 * nothing else. It stands for the practical limit of a WebSocket server in Node: every
 * message is framed once per socket by `ws.send`, nothing is stored.
 *
 * Usage: node --import tsx bench/peers/ws-broadcast-server.ts PORT
 */
import { type WebSocket, WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const rooms = new Map<string, Set<WebSocket>>();
const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: false });

server.on('connection', (ws, request) => {
  const room = new URL(request.url ?? '/', 'http://localhost').searchParams.get('room');
  if (room) {
    let members = rooms.get(room);
    if (!members) rooms.set(room, (members = new Set()));
    members.add(ws);
    ws.on('close', () => members.delete(ws));
  }
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    let message: { id?: number; room?: string; ping?: boolean };
    try {
      message = JSON.parse(String(data)) as typeof message;
    } catch {
      return;
    }
    if (message.ping) {
      ws.send('{"pong":true}');
      return;
    }
    const members = message.room === undefined ? undefined : rooms.get(message.room);
    if (members) for (const member of members) member.send(data, { binary: isBinary });
    ws.send(`{"ack":${Number(message.id)}}`);
  });
});
server.on('listening', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
