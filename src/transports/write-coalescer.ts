import type { Duplex } from 'node:stream';

const corked: Duplex[] = [];
let flushScheduled = false;

function uncorkAll(): void {
  flushScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

/**
 * Holds a socket's writes until the end of this tick, so every frame due to it in one
 * fan-out leaves in one write. One flush per tick serves all sockets.
 */
export function coalesceWrites(socket: Duplex): void {
  if (socket.writableCorked > 0) return;
  socket.cork();
  corked.push(socket);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(uncorkAll);
  }
}
