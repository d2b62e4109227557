import { RawWs } from './raw-ws.js';
import type { BenchRetention } from './worker-protocol.js';

/** The servers a scenario can run against. */
export const SERVER_KINDS = ['switchboard', 'socketio', 'ws'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export interface Target {
  readonly kind: ServerKind;
  readonly port: number;
}

export interface ConnectOptions {
  /** Resume after this seq (Switchboard only). */
  readonly since?: number;
  /** Sees every frame from the first one on, catch-up events included. */
  readonly onText?: (text: string) => void;
  /** Switchboard: a JWT sent as `Authorization: Bearer` instead of naming the user in the URL. */
  readonly token?: string;
  /** Switchboard: subscribe with presence events (default: SWITCHBOARD_BENCH_PRESENCE). */
  readonly presence?: boolean;
}

/** The outcome of a publish as the publisher sees it. */
export type Ack = { readonly id: number; readonly ok: boolean; readonly error?: string };

/**
 * One server's client protocol, reduced to what the scenarios do: connect (optionally into
 * a channel), publish with a timestamp, recognise acks and deliveries. Every peer runs the
 * same scenario logic through this; only the bytes differ.
 */
export interface ClientProtocol {
  /** Opens a connection as `user`; with `channel`, returns once it receives that channel. */
  connect(port: number, user: string, channel: string | null, options?: ConnectOptions): Promise<RawWs>;
  /** Creates the channel when the server has such a thing (Switchboard), else nothing. */
  prepareChannel(ws: RawWs, channel: string, retention?: BenchRetention): Promise<void>;
  publishFrame(id: number, channel: string, text: string, sentAt: number): string;
  /** An ack (or a refusal) of a publish; undefined for any other frame. */
  ackOf(text: string): Ack | undefined;
  /** The publish timestamp carried by a delivery; undefined for any other frame. */
  sentAtOf(text: string): number | undefined;
}

const SWITCHBOARD_EVENT = { offset: 9, byte: 'e'.charCodeAt(0) }; // {"type":"event"
const SOCKETIO_EVENT = { offset: 1, byte: '2'.charCodeAt(0) }; // 42["message",...]
const WS_BROADCAST = { offset: 2, byte: 'i'.charCodeAt(0) }; // {"id":...} (acks are {"ack":...})

let requestIds = 1_000_000;

/**
 * Subscribes with `"presence":false` (like for like with the peers, which have no
 * presence, and without a join frame to every member per subscriber); set
 * SWITCHBOARD_BENCH_PRESENCE=on to measure with presence events. Read here because the
 * forked workers inherit the environment.
 */
const PRESENCE_BY_DEFAULT = process.env.SWITCHBOARD_BENCH_PRESENCE === 'on';

export const switchboardProtocol: ClientProtocol = {
  async connect(port, user, channel, options = {}) {
    const ws = options.token
      ? new RawWs({ port, path: '/ws', marker: SWITCHBOARD_EVENT, headers: [`Authorization: Bearer ${options.token}`] })
      : new RawWs({ port, path: `/ws?user=${encodeURIComponent(user)}`, marker: SWITCHBOARD_EVENT });
    ws.onText = options.onText ?? null;
    const since = options.since;
    const welcome = ws.waitFor((text) => (text.startsWith('{"type":"welcome"') ? true : undefined));
    await ws.open();
    await welcome;
    if (channel !== null) {
      const id = requestIds++;
      const reply = ws.waitFor((text) => replyTo(text, id));
      const sinceField = since === undefined ? '' : `,"since":${since}`;
      const presenceField = (options.presence ?? PRESENCE_BY_DEFAULT) ? '' : ',"presence":false';
      ws.send(`{"type":"subscribe","id":${id},"channel":${JSON.stringify(channel)}${sinceField}${presenceField}}`);
      const result = await reply;
      if (!result.ok) throw new Error(`subscribe refused: ${result.error}`);
    }
    return ws;
  },
  async prepareChannel(ws, channel, retention) {
    const id = requestIds++;
    const reply = ws.waitFor((text) => replyTo(text, id));
    const kept = retention && retention !== 'durable' ? `,"retention":{"mode":"${retention}"}` : '';
    ws.send(`{"type":"channel.create","id":${id},"channel":${JSON.stringify(channel)},"channelType":"public"${kept}}`);
    const result = await reply;
    if (!result.ok && result.error !== 'conflict') throw new Error(`channel.create refused: ${result.error}`);
  },
  publishFrame(id, channel, text, sentAt) {
    return `{"type":"publish","id":${id},"channel":${JSON.stringify(channel)},"text":"${text}","data":{"t":${sentAt}}}`;
  },
  ackOf(text) {
    if (text.startsWith('{"type":"ok"') || text.startsWith('{"type":"error"')) {
      const frame = JSON.parse(text) as { type: string; id: number; code?: string };
      return { id: frame.id, ok: frame.type === 'ok', error: frame.code };
    }
    return undefined;
  },
  sentAtOf(text) {
    if (!text.startsWith('{"type":"event"')) return undefined;
    const frame = JSON.parse(text) as { data?: { t?: number } };
    return frame.data?.t;
  },
};

export const socketioProtocol: ClientProtocol = {
  async connect(port, _user, channel) {
    const room = channel === null ? '' : `&room=${encodeURIComponent(channel)}`;
    const ws = new RawWs({
      port,
      path: `/socket.io/?EIO=4&transport=websocket${room}`,
      marker: SOCKETIO_EVENT,
      answerEnginePings: true,
    });
    const open = ws.waitFor((text) => (text.startsWith('0{') ? true : undefined));
    await ws.open();
    await open;
    const joined = ws.waitFor((text) => (text.startsWith('40') ? true : undefined));
    ws.send('40');
    await joined;
    return ws;
  },
  async prepareChannel() {},
  publishFrame(id, channel, text, sentAt) {
    return `42${id}["publish",{"room":${JSON.stringify(channel)},"t":${sentAt},"text":"${text}"}]`;
  },
  ackOf(text) {
    if (!text.startsWith('43')) return undefined;
    return { id: Number(/^43(\d+)/.exec(text)?.[1]), ok: true };
  },
  sentAtOf(text) {
    if (!text.startsWith('42')) return undefined;
    const packet = JSON.parse(text.slice(2)) as [string, { t?: number }];
    return packet[1]?.t;
  },
};

export const wsProtocol: ClientProtocol = {
  async connect(port, _user, channel) {
    const room = channel === null ? '' : `?room=${encodeURIComponent(channel)}`;
    const ws = new RawWs({ port, path: `/${room}`, marker: WS_BROADCAST });
    await ws.open();
    if (channel !== null) {
      // The server adds a socket to its room before it answers the upgrade; a ping
      // round trip makes sure that happened before the caller publishes.
      const pong = ws.waitFor((text) => (text === '{"pong":true}' ? true : undefined));
      ws.send('{"ping":true}');
      await pong;
    }
    return ws;
  },
  async prepareChannel() {},
  publishFrame(id, channel, text, sentAt) {
    return `{"id":${id},"room":${JSON.stringify(channel)},"t":${sentAt},"text":"${text}"}`;
  },
  ackOf(text) {
    if (!text.startsWith('{"ack"')) return undefined;
    return { id: (JSON.parse(text) as { ack: number }).ack, ok: true };
  },
  sentAtOf(text) {
    if (!text.startsWith('{"id"')) return undefined;
    return (JSON.parse(text) as { t?: number }).t;
  },
};

export function protocolFor(kind: ServerKind): ClientProtocol {
  switch (kind) {
    case 'switchboard':
      return switchboardProtocol;
    case 'socketio':
      return socketioProtocol;
    case 'ws':
      return wsProtocol;
  }
}

function replyTo(text: string, id: number): Ack | undefined {
  if (!text.startsWith('{"type":"ok"') && !text.startsWith('{"type":"error"')) return undefined;
  const frame = JSON.parse(text) as { type: string; id: unknown; code?: string };
  if (frame.id !== id) return undefined;
  return { id, ok: frame.type === 'ok', error: frame.code };
}

/** A wall-clock time in milliseconds with sub-millisecond resolution, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
