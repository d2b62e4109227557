import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { ERROR_CODE_KEY, ERROR_DETAILS_KEY } from '../../src/transports/grpc/grpc-errors.js';
import { grpcClient, StreamRecorder } from './grpc-test-client.js';
import { Waiters } from './waiters.js';
import { WsTestClient } from './ws-test-client.js';

/**
 * One subscriber of a channel on any wire that streams: /ws, SSE (`/stream/:channel` and
 * `/sse?channels=`) and a gRPC Subscribe call, behind one interface, so a scenario is
 * written once and looped over every wire (the shared suite style). Where the wires
 * differ, they differ here, once:
 * - an ended subscription: /ws and SSE get an `unsubscribed` frame (/ws stays connected,
 *   `/stream/:channel` ends, `/sse` goes on with its other channels); a gRPC call ends
 *   with the code's status and the `x-switchboard-error` trailer;
 * - an ended session: /ws gets its frames and a close code, SSE its last events and the
 *   end of the stream, gRPC a status.
 */
export type StreamWire = 'ws' | 'sse-stream' | 'sse' | 'grpc';
export const STREAM_WIRES: readonly StreamWire[] = ['ws', 'sse-stream', 'sse', 'grpc'];

/** Who connects: a name (auth "open"), a bearer token, or a connect ticket (/ws and SSE only). */
export type Who = { readonly user: string } | { readonly token: string } | { readonly ticket: string };

export interface ServerAddress {
  readonly url: string;
  readonly wsUrl: string;
  readonly grpcPort: number | null;
}

/** How the server ended a subscription. */
export interface Unsubscribed {
  /** The Switchboard code: the frame's, or the gRPC trailer's. */
  readonly code: string;
  readonly message: string;
  /** gRPC only: the call's status. */
  readonly grpcStatus: number | null;
  /** Date.now() when it arrived. */
  readonly at: number;
}

/** How the server ended the whole session. */
export interface SessionEnd {
  /** The Switchboard code the wire said: /ws's and SSE's `error` frame, the gRPC trailer; null when none came. */
  readonly code: string | null;
  /** /ws: the close code; gRPC: the status; SSE: null (the stream just ends). */
  readonly status: number | null;
  /** The `close` frame /ws and SSE got before the end, if any. */
  readonly close: { readonly reason: string; readonly reconnect: boolean } | null;
  readonly at: number;
}

/** What the subscribe answered, on any wire: where it went live, and whether `since` was older than what the channel keeps. */
export interface Subscribed {
  readonly seq: number;
  readonly truncated: boolean;
  readonly from: number | null;
  /** The channel's epoch (SSE: from the `ready` event). */
  readonly epoch?: number;
}

/** How a wire said the channel was deleted: the frame's fields, when it arrived, and whether the subscription's stream ended. */
export interface Deleted {
  readonly channel: string;
  readonly epoch: number;
  readonly at: number;
  readonly arrivedAt: number;
}

export interface WireSubscriber {
  readonly wire: StreamWire;
  /** The subscribe's answer: /ws's `ok` result, SSE's `ready` event, gRPC's `subscribed`. */
  readonly subscribed: Subscribed;
  /** Seqs of the channel's stored events, in arrival order. */
  seqs(channel?: string): number[];
  /** Pushed signals of the channel (`receipt`, `typing`, `presence`), in arrival order. */
  signals(type: string, channel?: string): Record<string, unknown>[];
  waitForSeq(seq: number, channel?: string): Promise<void>;
  /** The stored event at `seq` as this wire delivered it (gRPC: as grpc-js decodes it). */
  event(seq: number, channel?: string): Record<string, unknown> | undefined;
  /** A second channel streamed on the same connection (/ws and `/sse`): what arrives after a change there proves nothing more came. */
  readonly sentinel: string | null;
  unsubscribed(timeoutMs?: number): Promise<Unsubscribed>;
  /** The channel was deleted: /ws's `channelDeleted` frame, SSE's event, gRPC's `channelDeleted` message (the call then ends OK). */
  deleted(timeoutMs?: number): Promise<Deleted>;
  sessionEnded(timeoutMs?: number): Promise<SessionEnd>;
  /** Every frame received, as [type, body] (for failure messages). */
  readonly log: [string, Record<string, unknown>][];
  close(): void;
}

const open: WireSubscriber[] = [];
afterEach(() => {
  for (const subscriber of open.splice(0)) subscriber.close();
});

/**
 * Subscribes `who` to `channel` on `wire` and resolves once the subscription is live.
 * With `sentinel`, /ws and `/sse` also stream that channel.
 */
export async function subscribeOn(
  wire: StreamWire,
  server: ServerAddress,
  who: Who,
  channel: string,
  options: { sentinel?: string; since?: number; epoch?: number } = {},
): Promise<WireSubscriber> {
  let subscriber: WireSubscriber;
  switch (wire) {
    case 'ws':
      subscriber = await WsSubscriber.open(server, who, channel, options);
      break;
    case 'sse-stream':
    case 'sse':
      subscriber = await SseSubscriber.open(wire, server, who, channel, options);
      break;
    case 'grpc':
      subscriber = await GrpcSubscriber.open(server, who, channel, options);
      break;
  }
  open.push(subscriber);
  return subscriber;
}

/**
 * Opens a session of `who` on `wire` and resolves with how it was refused (the
 * Switchboard code), or null when it opened. For session limits, bans and expired credentials.
 */
export async function refusalOn(wire: StreamWire, server: ServerAddress, who: Who, channel: string): Promise<string | null> {
  return (await refusal(wire, server, who, channel))?.code ?? null;
}

/** Like `refusalOn`, with the refusal's message, and options for the subscribe (`since`). */
export async function refusal(
  wire: StreamWire,
  server: ServerAddress,
  who: Who,
  channel: string,
  options: { since?: number; epoch?: number } = {},
): Promise<{ code: string; message: string } | null> {
  const refused = await refusalWithDetails(wire, server, who, channel, options);
  return refused && { code: refused.code, message: refused.message };
}

/**
 * Like `refusal`, with the refusal's details: the error's own (`stale_epoch`: the current
 * epoch), plus `httpStatus` (SSE) or `grpcStatus` (gRPC).
 */
export async function refusalWithDetails(
  wire: StreamWire,
  server: ServerAddress,
  who: Who,
  channel: string,
  options: { since?: number; epoch?: number } = {},
): Promise<{ code: string; message: string; details?: Record<string, unknown> } | null> {
  try {
    const subscriber = await subscribeOn(wire, server, who, channel, options);
    subscriber.close();
    return null;
  } catch (error) {
    const { switchboardCode, switchboardMessage, switchboardDetails } = error as {
      switchboardCode?: string;
      switchboardMessage?: string;
      switchboardDetails?: Record<string, unknown>;
    };
    if (!switchboardCode) throw error;
    return { code: switchboardCode, message: switchboardMessage ?? '', ...(switchboardDetails && { details: switchboardDetails }) };
  }
}

function refused(code: string, message: string, details?: Record<string, unknown>): Error {
  return Object.assign(new Error(`refused: ${code}: ${message}`), {
    switchboardCode: code,
    switchboardMessage: message,
    switchboardDetails: details,
  });
}

// --- /ws ------------------------------------------------------------------------------

class WsSubscriber implements WireSubscriber {
  readonly wire = 'ws' as const;
  readonly #client: WsTestClient;
  readonly #channel: string;
  readonly sentinel: string | null;
  readonly #arrivals = new WeakMap<object, number>();
  subscribed: Subscribed = { seq: -1, truncated: false, from: null };

  private constructor(client: WsTestClient, channel: string, sentinel: string | null) {
    this.#client = client;
    this.#channel = channel;
    this.sentinel = sentinel;
    client.socket.on('message', () => this.#arrivals.set(client.frames.at(-1)!, Date.now()));
  }

  static async open(server: ServerAddress, who: Who, channel: string, options: { sentinel?: string; since?: number; epoch?: number }): Promise<WsSubscriber> {
    const client =
      'user' in who
        ? new WsTestClient(`${server.wsUrl}?user=${encodeURIComponent(who.user)}`)
        : 'ticket' in who
          ? new WsTestClient(`${server.wsUrl}?ticket=${encodeURIComponent(who.ticket)}`)
          : new WsTestClient(server.wsUrl, { headers: { authorization: `Bearer ${who.token}` } });
    const subscriber = new WsSubscriber(client, channel, options.sentinel ?? null);
    try {
      await client.opened;
      const hello = await client.waitUntil(
        () => client.frames.find((f) => f.type === 'welcome' || f.type === 'error') ?? (client.closeCode !== null && { type: 'closed' }),
      );
      if (hello.type !== 'welcome') {
        const error = client.frames.find((f) => f.type === 'error');
        throw refused(String(error?.code ?? `close ${client.closeCode}`), String(error?.message ?? ''));
      }
      const reply = await client.request('subscribe', { channel, since: options.since, epoch: options.epoch });
      if (reply.type !== 'ok') throw refused(String(reply.code), String(reply.message), reply.details as Record<string, unknown> | undefined);
      const result = reply.result as { seq: number; epoch: number; truncated?: boolean; from?: number };
      subscriber.subscribed = { seq: result.seq, truncated: result.truncated ?? false, from: result.from ?? null, epoch: result.epoch };
      if (options.sentinel) await client.ok('subscribe', { channel: options.sentinel });
    } catch (error) {
      void client.close();
      throw error;
    }
    return subscriber;
  }

  get log(): [string, Record<string, unknown>][] {
    return this.#client.frames.map((f) => [f.type, f]);
  }

  seqs(channel = this.#channel): number[] {
    return this.#client.events(channel).map((e) => e.seq);
  }

  signals(type: string, channel = this.#channel): Record<string, unknown>[] {
    return this.#client.frames.filter((f) => f.type === type && f.channel === channel);
  }

  async waitForSeq(seq: number, channel = this.#channel): Promise<void> {
    await this.#client.waitUntil(() => this.seqs(channel).includes(seq));
  }

  event(seq: number, channel = this.#channel): Record<string, unknown> | undefined {
    return this.#client.events(channel).find((e) => e.seq === seq);
  }

  async unsubscribed(timeoutMs = 5000): Promise<Unsubscribed> {
    const frame = await this.#client.waitFor((f) => f.type === 'unsubscribed' && f.channel === this.#channel, timeoutMs);
    return { code: String(frame.code), message: String(frame.message), grpcStatus: null, at: this.#arrivals.get(frame) ?? Date.now() };
  }

  async deleted(timeoutMs = 5000): Promise<Deleted> {
    const frame = await this.#client.waitFor((f) => f.type === 'channelDeleted' && f.channel === this.#channel, timeoutMs);
    return { channel: String(frame.channel), epoch: Number(frame.epoch), at: Number(frame.at), arrivedAt: this.#arrivals.get(frame) ?? Date.now() };
  }

  async sessionEnded(timeoutMs = 5000): Promise<SessionEnd> {
    const status = await this.#client.waitUntil(() => this.#client.closeCode ?? false, timeoutMs);
    const error = this.#client.frames.find((f) => f.type === 'error' && f.id === null);
    const close = this.#client.frames.find((f) => f.type === 'close');
    return {
      code: error ? String(error.code) : null,
      status,
      close: close ? { reason: String(close.reason), reconnect: Boolean(close.reconnect) } : null,
      at: Date.now(),
    };
  }

  close(): void {
    void this.#client.close();
  }
}

// --- SSE ------------------------------------------------------------------------------

interface SseFrame {
  readonly event: string;
  readonly data: Record<string, unknown>;
  readonly at: number;
}

class SseSubscriber implements WireSubscriber {
  readonly wire: 'sse-stream' | 'sse';
  readonly sentinel: string | null;
  readonly frames: SseFrame[] = [];
  subscribed: Subscribed = { seq: -1, truncated: false, from: null };
  readonly #channel: string;
  readonly #waiters = new Waiters();
  #request: ClientRequest | null = null;
  #status = 0;
  #body = '';
  #buffer = '';
  #ended = false;
  #endedAt = 0;

  private constructor(wire: 'sse-stream' | 'sse', channel: string, sentinel: string | null) {
    this.wire = wire;
    this.#channel = channel;
    this.sentinel = sentinel;
  }

  static async open(
    wire: 'sse-stream' | 'sse',
    server: ServerAddress,
    who: Who,
    channel: string,
    options: { sentinel?: string; since?: number; epoch?: number },
  ): Promise<SseSubscriber> {
    const sentinel = wire === 'sse' ? (options.sentinel ?? null) : null;
    const subscriber = new SseSubscriber(wire, channel, sentinel);
    const channels = sentinel ? `${encodeURIComponent(channel)},${encodeURIComponent(sentinel)}` : encodeURIComponent(channel);
    const ticket = 'ticket' in who ? `${wire === 'sse' ? '&' : '?'}ticket=${encodeURIComponent(who.ticket)}` : '';
    const path = (wire === 'sse' ? `/sse?channels=${channels}` : `/stream/${encodeURIComponent(channel)}`) + ticket;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if ('user' in who) headers['x-switchboard-user'] = who.user;
    else if ('token' in who) headers.authorization = `Bearer ${who.token}`;
    if (options.since !== undefined) {
      const position = options.epoch === undefined ? String(options.since) : `${options.epoch}.${options.since}`;
      headers['last-event-id'] = wire === 'sse' ? `${encodeURIComponent(channel)}=${position}` : position;
    }
    await subscriber.#connect(`${server.url}${path}`, headers);
    if (subscriber.#status !== 200) {
      const body = JSON.parse(subscriber.#body || '{}') as { code?: string; message?: string; details?: Record<string, unknown> };
      throw refused(body.code ?? `http ${subscriber.#status}`, body.message ?? '', { ...body.details, httpStatus: subscriber.#status });
    }
    const live = () => subscriber.frames.some((f) => f.event === 'ready' || f.event === 'error') || subscriber.#ended;
    await subscriber.#waiters.until(live, 10_000, 'no ready event');
    const failure = subscriber.frames.find((f) => f.event === 'error');
    if (failure) {
      subscriber.close();
      throw refused(String(failure.data.code), String(failure.data.message));
    }
    const ready = subscriber.frames.find((f) => f.event === 'ready')?.data as
      | { channels: Record<string, number>; epochs?: Record<string, number>; truncated?: Record<string, number> }
      | undefined;
    const from = ready?.truncated?.[channel];
    subscriber.subscribed = {
      seq: ready?.channels[channel] ?? -1,
      truncated: from !== undefined,
      from: from ?? null,
      ...(ready?.epochs?.[channel] !== undefined && { epoch: ready.epochs[channel] }),
    };
    return subscriber;
  }

  #connect(url: string, headers: Record<string, string>): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers });
      this.#request = req;
      req.once('error', reject);
      req.once('response', (response: IncomingMessage) => {
        this.#status = response.statusCode ?? 0;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (this.#status !== 200) this.#body += chunk;
          else this.#parse(chunk);
          this.#waiters.wake();
        });
        for (const event of ['end', 'close']) {
          response.once(event, () => {
            if (!this.#ended) this.#endedAt = Date.now();
            this.#ended = true;
            this.#waiters.wake();
            if (this.#status !== 200) resolve();
          });
        }
        response.once('error', () => {});
        if (this.#status === 200) resolve();
      });
      req.end();
    });
  }

  get log(): [string, Record<string, unknown>][] {
    return this.frames.map((f) => [f.event, f.data]);
  }

  seqs(channel = this.#channel): number[] {
    return this.frames.filter((f) => f.event === 'message' && f.data.channel === channel).map((f) => Number(f.data.seq));
  }

  signals(type: string, channel = this.#channel): Record<string, unknown>[] {
    return this.frames.filter((f) => f.event === type && f.data.channel === channel).map((f) => f.data);
  }

  event(seq: number, channel = this.#channel): Record<string, unknown> | undefined {
    return this.frames.find((f) => f.event === 'message' && f.data.channel === channel && Number(f.data.seq) === seq)?.data;
  }

  async waitForSeq(seq: number, channel = this.#channel): Promise<void> {
    const why = () => `no seq ${seq} of ${channel}; got ${JSON.stringify(this.log.slice(-3))}`;
    await this.#waiters.until(() => this.seqs(channel).includes(seq), 10_000, why);
  }

  async unsubscribed(timeoutMs = 5000): Promise<Unsubscribed> {
    const frame = await this.#waiters.until(
      () => this.frames.find((f) => f.event === 'unsubscribed' && f.data.channel === this.#channel),
      timeoutMs,
      () => `no unsubscribed event; got ${JSON.stringify(this.log.slice(-3))}`,
    );
    return { code: String(frame.data.code), message: String(frame.data.message), grpcStatus: null, at: frame.at };
  }

  async deleted(timeoutMs = 5000): Promise<Deleted> {
    const frame = await this.#waiters.until(
      () => this.frames.find((f) => f.event === 'channelDeleted' && f.data.channel === this.#channel),
      timeoutMs,
      () => `no channelDeleted event; got ${JSON.stringify(this.log.slice(-3))}`,
    );
    return { channel: String(frame.data.channel), epoch: Number(frame.data.epoch), at: Number(frame.data.at), arrivedAt: frame.at };
  }

  /** Whether the server ended the stream. */
  get ended(): boolean {
    return this.#ended;
  }

  async sessionEnded(timeoutMs = 5000): Promise<SessionEnd> {
    await this.#waiters.until(() => this.#ended, timeoutMs, () => `the stream did not end; got ${JSON.stringify(this.log.slice(-3))}`);
    const error = this.frames.find((f) => f.event === 'error');
    const close = this.frames.find((f) => f.event === 'close');
    return {
      code: error ? String(error.data.code) : null,
      status: null,
      close: close ? { reason: String(close.data.reason), reconnect: Boolean(close.data.reconnect) } : null,
      at: this.#endedAt,
    };
  }

  close(): void {
    this.#request?.destroy();
  }

  #parse(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) this.frames.push({ event, data: JSON.parse(data) as Record<string, unknown>, at: Date.now() });
    }
  }
}

// --- gRPC -----------------------------------------------------------------------------

class GrpcSubscriber implements WireSubscriber {
  readonly wire = 'grpc' as const;
  readonly sentinel = null;
  readonly #recorder: StreamRecorder;
  readonly #channel: string;
  subscribed: Subscribed = { seq: -1, truncated: false, from: null };
  #endedAt = 0;

  private constructor(recorder: StreamRecorder, channel: string) {
    this.#recorder = recorder;
    this.#channel = channel;
    void recorder.ended.then(() => (this.#endedAt = Date.now()));
  }

  static async open(server: ServerAddress, who: Who, channel: string, options: { since?: number; epoch?: number }): Promise<GrpcSubscriber> {
    const metadata = new grpc.Metadata();
    if ('ticket' in who) throw new Error('A gRPC call takes no ticket: tickets are for browsers.');
    if ('user' in who) metadata.set('x-switchboard-user', who.user);
    else metadata.set('authorization', `Bearer ${who.token}`);
    const request = {
      channel,
      ...(options.since !== undefined && { since: options.since }),
      ...(options.epoch !== undefined && { epoch: options.epoch }),
    };
    const recorder = new StreamRecorder(grpcClient(server), request, metadata);
    const subscriber = new GrpcSubscriber(recorder, channel);
    try {
      const result = await recorder.live<{ seq: number | string; epoch: number | string; truncated?: boolean; from?: number | string }>();
      subscriber.subscribed = {
        seq: Number(result.seq),
        truncated: result.truncated ?? false,
        from: result.truncated ? Number(result.from) : null,
        epoch: Number(result.epoch),
      };
    } catch {
      const status = await recorder.ended;
      const code = status.metadata.get(ERROR_CODE_KEY)[0];
      const details = status.metadata.get(ERROR_DETAILS_KEY)[0];
      throw refused(String(code ?? `grpc ${status.code}`), status.details, {
        ...(details === undefined ? {} : (JSON.parse(String(details)) as Record<string, unknown>)),
        grpcStatus: status.code,
      });
    }
    return subscriber;
  }

  get log(): [string, Record<string, unknown>][] {
    return this.#recorder.messages.map((m) => [Object.keys(m)[0] ?? '?', m]);
  }

  seqs(): number[] {
    return this.#recorder.seqs();
  }

  signals(type: string): Record<string, unknown>[] {
    return this.#recorder.of<Record<string, unknown>>(type);
  }

  async waitForSeq(seq: number): Promise<void> {
    await this.#recorder.waitUntil(() => this.#recorder.seqs().includes(seq));
  }

  event(seq: number): Record<string, unknown> | undefined {
    return this.#recorder.events().find((e) => e.seq === seq) as Record<string, unknown> | undefined;
  }

  async unsubscribed(timeoutMs = 5000): Promise<Unsubscribed> {
    const end = await this.sessionEnded(timeoutMs);
    return { code: end.code ?? '', message: '', grpcStatus: end.status, at: end.at };
  }

  async deleted(timeoutMs = 5000): Promise<Deleted> {
    await this.sessionEnded(timeoutMs);
    const frame = this.#recorder.of<{ channel: string; epoch: number; at: number }>('channelDeleted')[0];
    if (!frame) throw new Error(`the call ended without channelDeleted; got ${JSON.stringify(this.log.slice(-3))}`);
    return { channel: frame.channel, epoch: Number(frame.epoch), at: Number(frame.at), arrivedAt: this.#endedAt || Date.now() };
  }

  async sessionEnded(timeoutMs = 5000): Promise<SessionEnd> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the ${this.#channel} call did not end`)), timeoutMs);
    });
    try {
      const status = await Promise.race([this.#recorder.ended, timeout]);
      const code = status.metadata.get(ERROR_CODE_KEY)[0];
      return { code: code === undefined ? null : String(code), status: status.code, close: null, at: this.#endedAt || Date.now() };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#recorder.call.cancel();
  }
}
