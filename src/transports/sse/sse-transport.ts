import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, Credentials } from '../../auth/authenticator.js';
import { Delivery } from '../../core/delivery.js';
import { SwitchboardError, toSwitchboardError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import type { Session } from '../../core/session.js';
import type { ChannelId, Seq } from '../../core/types.js';
import type { ConnectionAdmission } from '../../edge/connection-admission.js';
import type { Edge } from '../../edge/edge.js';
import { subscribeServerSide } from '../../edge/server-subscriptions.js';
import type { ConnectionGuard } from '../connection-guard.js';
import { credentialsOf } from '../http/request-auth.js';
import { parseCursor } from './sse-cursor.js';
import { WriteBatcher, type WriteBatchSettings } from '../write-batcher.js';
import { SseStream } from './sse-stream.js';

export interface SseTransportOptions {
  /** The command pipeline every wire shares: a stream subscribes through its `subscribe`. */
  readonly edge: Edge;
  /** Sessions (connect, disconnect) and the per-session subscription limit. */
  readonly hub: Hub;
  readonly authenticator: Authenticator;
  /** Credentials and the app's connect hook; absent: the authenticator alone. */
  readonly admission?: ConnectionAdmission;
  readonly logger: Logger;
  /** Origin allowlist and per-IP limit, shared with /ws. */
  readonly guard?: ConnectionGuard;
  readonly heartbeatMs: number;
  readonly maxQueuedBytes: number;
  /** The load-adaptive write delay (config `batching`); default DEFAULT_WRITE_BATCH. */
  readonly batching?: WriteBatchSettings;
}

/**
 * `GET /sse?channels=a,b` and `GET /stream/:channel`: stored events (with resumable ids),
 * presence and typing as server-sent events. Auth by `?ticket=` (what a browser
 * EventSource can send), a header, or `?user=` in auth "open". A `Last-Event-ID` header
 * (or `?lastEventId=`, for polyfills) resumes every channel after its seq.
 *
 * A stream is a session that runs the pipeline's `subscribe` for each channel, so
 * access, validation and limits are those of every other wire. `/sse` also carries the
 * user's server-side subscriptions (the connect hook's `channels`, a token's `channels`
 * claim), resumed from the same Last-Event-ID; `/stream/:channel` is that one channel.
 */
export class SseTransport {
  readonly #options: SseTransportOptions;
  /** When every stream's held frames are written: one round for all of them. */
  readonly #batcher: WriteBatcher;
  readonly #streams = new Set<SseStream>();

  constructor(options: SseTransportOptions) {
    this.#options = options;
    this.#batcher = new WriteBatcher(options.batching);
  }

  get connectionCount(): number {
    return this.#streams.size;
  }

  register(app: FastifyInstance): void {
    app.get('/sse', { schema: { hide: true } }, (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const channels = (query.channels ?? '').split(',').map((c) => c.trim()).filter(Boolean);
      return this.#serve(request, reply, channels, { serverSide: true });
    });
    app.get('/stream/:channel', { schema: { hide: true } }, (request, reply) =>
      this.#serve(request, reply, [(request.params as { channel: string }).channel], { serverSide: false }),
    );
  }

  /** Ends every stream with a `close` event that tells clients to reconnect (and resume). */
  closeAll(reason: string): void {
    const notice = new Delivery({ type: 'close', reason, reconnect: true });
    for (const stream of [...this.#streams]) {
      stream.deliver(notice);
      stream.end();
    }
  }

  async #serve(request: FastifyRequest, reply: FastifyReply, channels: ChannelId[], options: { serverSide: boolean }): Promise<void> {
    const { hub, guard } = this.#options;
    const query = request.query as Record<string, string | undefined>;
    const unique = [...new Set(channels)];
    const limit = hub.limits.maxSubscriptionsPerSession;
    // Said before the stream opens, rather than by the subscribe past the limit once it is open.
    if (unique.length > limit) throw new SwitchboardError('too_many_subscriptions', `At most ${limit} channels per stream.`);

    const credentials = credentialsFrom(request, query);
    const principal = this.#options.admission
      ? await this.#options.admission.admit({ wire: 'sse', credentials, header: (name) => headerValue(request, name) })
      : await this.#options.authenticator.authenticate(credentials);
    // The user's server-side channels ride along after those the client named; one past the
    // session's limit is refused by its subscribe (an `unsubscribed` event), as on /ws.
    const serverSide = options.serverSide ? (principal.channels ?? []).filter((channel) => !unique.includes(channel)) : [];
    const streamed = [...unique, ...serverSide];
    if (streamed.length === 0) throw new SwitchboardError('bad_request', 'Name the channels to stream: ?channels=a,b.');
    const lastEventId = headerValue(request, 'last-event-id') ?? query.lastEventId;
    const parsed =
      lastEventId === undefined || lastEventId === ''
        ? { positions: new Map<ChannelId, Seq>(), epochs: new Map<ChannelId, number>() }
        : parseCursor(lastEventId, streamed);
    if (!parsed) throw new SwitchboardError('bad_request', 'Last-Event-ID is not an id this server sent.');
    const { positions: cursor, epochs } = parsed;
    // Positions of channels this stream does not carry would only ride along in every id.
    for (const channel of cursor.keys()) if (!streamed.includes(channel)) cursor.delete(channel);
    // Malformed, unknown or unreadable channels are refused with a plain HTTP status while
    // one can still be sent: once the stream is open, a failure is only an `error` event.
    const lookup = { principal, session: null, wire: 'sse' } as const;
    for (const channel of unique) {
      const found = await this.#options.edge.pipeline.run('channel.get', { channel }, lookup);
      // A position in a deleted channel's log (an older epoch) is refused while it can still be a 409.
      const epoch = epochs.get(channel);
      if (cursor.has(channel) && epoch !== undefined && epoch !== found.epoch) throw staleEpoch(channel, epoch, found.epoch);
      // Ids sent while catching up carry it too; a bare seq is taken to be of this epoch.
      epochs.set(channel, found.epoch);
    }

    const admission = guard?.admit(request.raw);
    if (admission && !admission.ok) throw admission.error;
    let session: Session | null = null;
    const stream = new SseStream({
      response: reply.raw,
      cursor,
      maxQueuedBytes: this.#options.maxQueuedBytes,
      heartbeatMs: this.#options.heartbeatMs,
      channels: streamed.length,
      epochs,
      batcher: this.#batcher,
      onEnd: () => {
        this.#streams.delete(stream);
        admission?.release();
        if (session) void hub.disconnect(session);
      },
    });
    // The session opens before the stream, so a refusal (the user's session limit, a ban,
    // an expired ticket's token) is an HTTP status like the checks above.
    try {
      session = await hub.connect(principal, 'sse', stream);
    } catch (error) {
      admission?.release();
      throw error;
    }
    if (stream.ended) {
      // The hub ended it already (a ban from another node, say): nothing was sent yet.
      await hub.disconnect(session);
      throw new SwitchboardError('unavailable', 'The session ended as it opened; retry.');
    }
    reply.hijack();
    this.#streams.add(stream);
    stream.open();
    try {
      await this.#subscribe(session, stream, { named: unique, serverSide }, cursor, epochs);
    } catch (error) {
      const failure = toSwitchboardError(error);
      if (failure.code === 'internal') this.#options.logger.error({ err: error }, 'sse subscribe failed');
      stream.fail(failure);
    }
  }

  /**
   * The channels the client named must all subscribe (a refusal ends the stream); a
   * server-side channel that cannot is reported with an `unsubscribed` event and left out,
   * as on /ws.
   */
  async #subscribe(
    session: Session,
    stream: SseStream,
    channels: { readonly named: readonly ChannelId[]; readonly serverSide: readonly ChannelId[] },
    cursor: ReadonlyMap<ChannelId, Seq>,
    epochs: ReadonlyMap<ChannelId, number>,
  ): Promise<void> {
    const { edge } = this.#options;
    const call = { principal: session.principal, session, wire: 'sse' } as const;
    const live = new Map<ChannelId, { seq: Seq; epoch?: number }>();
    const truncated = new Map<ChannelId, Seq>();
    for (const channel of channels.named) {
      if (stream.ended) return;
      const since = cursor.get(channel);
      const epoch = since === undefined ? undefined : epochs.get(channel);
      // Paid for by its check above, while a refusal could still be an HTTP status.
      const subscribed = await edge.pipeline.run('subscribe', { channel, since, epoch }, call, { charge: false });
      live.set(channel, { seq: subscribed.seq, epoch: subscribed.epoch });
      if (subscribed.truncated) truncated.set(channel, subscribed.from!);
    }
    if (channels.serverSide.length > 0 && !stream.ended) {
      const positions = Object.fromEntries(channels.serverSide.flatMap((channel) => (cursor.has(channel) ? [[channel, cursor.get(channel)!]] : [])));
      const subscribed = await subscribeServerSide(
        edge.pipeline,
        call,
        { positions },
        (channel, error) => stream.deliver(new Delivery({ type: 'unsubscribed', channel, code: error.code, message: error.message })),
        channels.serverSide,
      );
      for (const { channel, seq } of subscribed) live.set(channel, { seq });
    }
    if (stream.ended) return;
    stream.ready(live, truncated);
  }
}

/** `?ticket=` or `?user=` (open mode) from the URL, else the headers of request-auth.ts. */
function credentialsFrom(request: FastifyRequest, query: Record<string, string | undefined>): Credentials {
  if (query.ticket) return { ticket: query.ticket };
  const headers = credentialsOf(request);
  if (Object.keys(headers).length > 0) return headers;
  return query.user ? { user: query.user } : {};
}

function staleEpoch(channel: ChannelId, epoch: number, current: number): SwitchboardError {
  return new SwitchboardError(
    'stale_epoch',
    `Channel ${channel} was deleted and created again: Last-Event-ID names epoch ${epoch}; reconnect without it for epoch ${current}.`,
    { epoch: current },
  );
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
