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
 * access, validation and limits are those of every other wire.
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
      return this.#serve(request, reply, channels);
    });
    app.get('/stream/:channel', { schema: { hide: true } }, (request, reply) =>
      this.#serve(request, reply, [(request.params as { channel: string }).channel]),
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

  async #serve(request: FastifyRequest, reply: FastifyReply, channels: ChannelId[]): Promise<void> {
    const { hub, guard } = this.#options;
    const query = request.query as Record<string, string | undefined>;
    const unique = [...new Set(channels)];
    if (unique.length === 0) throw new SwitchboardError('bad_request', 'Name the channels to stream: ?channels=a,b.');
    // Said before the stream opens, rather than by the subscribe past the limit once it is open.
    if (unique.length > hub.limits.maxSubscriptionsPerSession) {
      throw new SwitchboardError('too_many_subscriptions', `At most ${hub.limits.maxSubscriptionsPerSession} channels per stream.`);
    }
    const lastEventId = headerValue(request, 'last-event-id') ?? query.lastEventId;
    const cursor = lastEventId === undefined || lastEventId === '' ? new Map<ChannelId, Seq>() : parseCursor(lastEventId, unique);
    if (!cursor) throw new SwitchboardError('bad_request', 'Last-Event-ID is not an id this server sent.');
    // Positions of channels this stream does not carry would only ride along in every id.
    for (const channel of cursor.keys()) if (!unique.includes(channel)) cursor.delete(channel);

    const credentials = credentialsFrom(request, query);
    const principal = this.#options.admission
      ? await this.#options.admission.admit({ wire: 'sse', credentials, header: (name) => headerValue(request, name) })
      : await this.#options.authenticator.authenticate(credentials);
    // Malformed, unknown or unreadable channels are refused with a plain HTTP status while
    // one can still be sent: once the stream is open, a failure is only an `error` event.
    const lookup = { principal, session: null, wire: 'sse' } as const;
    for (const channel of unique) await this.#options.edge.pipeline.run('channel.get', { channel }, lookup);

    const admission = guard?.admit(request.raw);
    if (admission && !admission.ok) throw admission.error;
    let session: Session | null = null;
    const stream = new SseStream({
      response: reply.raw,
      cursor,
      maxQueuedBytes: this.#options.maxQueuedBytes,
      heartbeatMs: this.#options.heartbeatMs,
      channels: unique.length,
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
      await this.#subscribe(session, stream, unique, cursor);
    } catch (error) {
      const failure = toSwitchboardError(error);
      if (failure.code === 'internal') this.#options.logger.error({ err: error }, 'sse subscribe failed');
      stream.fail(failure);
    }
  }

  async #subscribe(
    session: Session,
    stream: SseStream,
    channels: readonly ChannelId[],
    cursor: ReadonlyMap<ChannelId, Seq>,
  ): Promise<void> {
    const { edge } = this.#options;
    const call = { principal: session.principal, session, wire: 'sse' } as const;
    const live = new Map<ChannelId, Seq>();
    const truncated = new Map<ChannelId, Seq>();
    for (const channel of channels) {
      if (stream.ended) return;
      // Paid for by its check above, while a refusal could still be an HTTP status.
      const subscribed = await edge.pipeline.run('subscribe', { channel, since: cursor.get(channel) }, call, { charge: false });
      live.set(channel, subscribed.seq);
      if (subscribed.truncated) truncated.set(channel, subscribed.from!);
    }
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

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
