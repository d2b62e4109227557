/**
 * The part of a WebSocket the SDK uses: the browser's WebSocket and the `ws` package's
 * both fit, so neither's type declarations are needed.
 */
export interface SocketLike {
  readonly readyState: number;
  /** Set to `arraybuffer` for MessagePack (a browser's default, `blob`, would need an async read per frame). */
  binaryType?: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ readonly data: unknown }> | null;
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null;
  onerror: Handler<unknown> | null;
}

/**
 * A handler slot checked bivariantly (as methods are), so the DOM's and `ws`'s sockets,
 * whose handlers take their own richer event types, both fit.
 */
type Handler<E> = { handle(event: E): void }['handle'];

export type SocketConstructor = new (url: string) => SocketLike;

export const OPEN = 1;
export const CLOSED = 3;
const CLOSE_WAIT_MS = 1000;

// A computed specifier keeps bundlers from pulling `ws` into a browser build; Node resolves it at run time.
const NODE_WEBSOCKET_MODULE = 'ws';

/**
 * The platform's WebSocket: the global one (browsers, Deno, Bun, Node 22+), else the `ws`
 * package, loaded only when needed.
 */
export async function resolveWebSocket(): Promise<SocketConstructor> {
  const global = (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
  if (global) return global;
  try {
    const module = (await import(/* @vite-ignore */ NODE_WEBSOCKET_MODULE)) as {
      WebSocket?: SocketConstructor;
      default?: SocketConstructor;
    };
    const constructor = module.WebSocket ?? module.default;
    if (constructor) return constructor;
  } catch {
    // Reported below in one sentence.
  }
  throw new Error(
    'No WebSocket available: install the `ws` package (npm install ws) or pass `WebSocket` in the options.',
  );
}

/** The WebSocket URL: http(s) becomes ws(s), a bare host gets `/ws`; credentials and the encoding go in the query. */
export function socketUrl(base: string, query: Record<string, string | undefined>): string {
  const page = (globalThis as { location?: { href: string } }).location?.href;
  const url = new URL(base, page);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/ws';
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}

/** Detaches our handlers from a socket we are done with (an error listener stays: `ws` throws without one). */
export function silence(socket: SocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = () => {};
}

/** Closes a socket and resolves when it is closed (or after a short wait, which is cleared). */
export function closeSocket(socket: SocketLike): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState === CLOSED) {
      resolve();
      return;
    }
    const timer = setTimeout(finish, CLOSE_WAIT_MS);
    function finish(): void {
      clearTimeout(timer);
      socket.onclose = null;
      resolve();
    }
    socket.onclose = finish;
    socket.onerror = () => {};
    try {
      socket.close(1000, 'client closed');
    } catch {
      finish();
    }
  });
}
