import type { VolatileLog } from './broker.js';
import { ringSize } from './channel-options.js';
import { SwitchboardError } from './errors.js';
import { newEventId } from './event-id.js';
import { GroupCommitter } from './group-commit.js';
import type { HistoryInput } from './hub-requests.js';
import type { AppendRequest, LogReader, Store } from './store.js';
import type { Channel, ChannelEvent, Retention, Seq } from './types.js';

export interface MessageLogOptions {
  readonly store: Store;
  /** Where `memory` and `none` channels' messages go instead of the store. */
  readonly volatile: VolatileLog;
  /** Most appends written in one transaction. */
  readonly maxCommitBatch: number;
  /** Largest page a history request may ask for. */
  readonly maxHistoryPage: number;
  /** A group commit finished (operations). */
  readonly onCommit: (size: number, millis: number) => void;
  /** A new event was committed (not a duplicate by `cid`) in the channel's `epoch` (0: unknown): fan it out. */
  readonly onAppended: (event: ChannelEvent, epoch: number) => void;
}

/**
 * Channels' logs: appends go through the group committer (many publishes, one
 * transaction and one fsync), and only once committed are they handed on for fan-out.
 * History reads come from here too.
 */
export class MessageLog {
  readonly #store: Store;
  readonly #volatile: VolatileLog;
  readonly #committer: GroupCommitter;
  readonly #maxHistoryPage: number;
  readonly #onAppended: (event: ChannelEvent, epoch: number) => void;

  constructor(options: MessageLogOptions) {
    this.#store = options.store;
    this.#volatile = options.volatile;
    this.#maxHistoryPage = options.maxHistoryPage;
    this.#onAppended = options.onAppended;
    this.#committer = new GroupCommitter(options.store, { maxBatch: options.maxCommitBatch, onCommit: options.onCommit });
  }

  /** Appends and, once committed, fans the event out. A refused append throws its SwitchboardError. */
  append(request: AppendRequest): Promise<{ event: ChannelEvent; duplicate: boolean }>;
  /** The same, resolving null when the store found the request changes nothing (an annotation already there). */
  append(request: AppendRequest, options: { unchangedIsNull: true }): Promise<{ event: ChannelEvent; duplicate: boolean } | null>;
  async append(
    request: AppendRequest,
    options?: { unchangedIsNull: true },
  ): Promise<{ event: ChannelEvent; duplicate: boolean } | null> {
    const result = await this.#committer.append(request);
    if (!result.ok) {
      if (result.unchanged && options?.unchangedIsNull) return null;
      throw new SwitchboardError(result.code, result.message);
    }
    if (!result.duplicate) this.#onAppended(result.event, result.epoch ?? 0);
    return result;
  }

  /**
   * Appends a message to a `memory` or `none` channel: its seq and ring entry come from
   * the volatile log (shared by the cluster), with no transaction and no fsync to wait for.
   * `epoch`: the channel's, as the publish found it (the volatile log keeps none of its own).
   */
  async appendVolatile(
    request: Extract<AppendRequest, { kind: 'message' }>,
    retention: Retention,
    epoch: number,
  ): Promise<{ event: ChannelEvent; duplicate: boolean }> {
    const createdAt = Date.now();
    const result = await this.#volatile.append(
      {
        channel: request.channel,
        kind: 'message',
        id: newEventId(createdAt),
        author: request.author,
        text: request.text,
        data: request.data,
        cid: request.cid,
        replyTo: request.replyTo,
        target: null,
        createdAt,
        editedAt: null,
        deletedAt: null,
      },
      ringSize(retention),
    );
    if (!result.duplicate) this.#onAppended(result.event, epoch);
    return result;
  }

  /** The message at `seq`, not deleted: what an edit, delete or annotation may target. */
  async message(channel: Channel, seq: Seq): Promise<ChannelEvent> {
    const target = await this.#store.getEvent(channel.id, seq);
    if (!target || target.kind !== 'message') {
      throw new SwitchboardError('not_found', `No message with seq ${seq} in ${channel.id}.`);
    }
    if (target.deletedAt !== null) throw new SwitchboardError('conflict', `Message ${seq} is deleted.`);
    return target;
  }

  /** Messages in their current state (edited text, tombstones), oldest first. */
  async history(channel: Channel, input: HistoryInput, reader: LogReader): Promise<{ events: ChannelEvent[]; hasMore: boolean; hasNewer?: boolean }> {
    const limit = Math.min(Math.max(input.limit ?? 50, 1), this.#maxHistoryPage);
    if (input.around !== undefined) return this.#around(channel, input.around, limit);
    const events = await reader.readEvents(channel.id, {
      after: input.after,
      before: input.before,
      limit: limit + 1,
      messagesOnly: true,
    });
    const hasMore = events.length > limit;
    if (!hasMore) return { events, hasMore };
    // Paging back (before only) keeps the newest `limit`; paging forward keeps the oldest.
    return { events: input.after === undefined ? events.slice(1) : events.slice(0, limit), hasMore };
  }

  /** A page centred on `seq` (a jump to a message): the half up to it and the rest after it. */
  async #around(channel: Channel, seq: Seq, limit: number): Promise<{ events: ChannelEvent[]; hasMore: boolean; hasNewer: boolean }> {
    const upTo = Math.ceil(limit / 2);
    const after = limit - upTo;
    const [older, newer] = await Promise.all([
      this.#store.readEvents(channel.id, { before: seq + 1, limit: upTo + 1, messagesOnly: true }),
      this.#store.readEvents(channel.id, { after: seq, limit: after + 1, messagesOnly: true }),
    ]);
    const hasMore = older.length > upTo;
    const hasNewer = newer.length > after;
    return {
      events: [...(hasMore ? older.slice(1) : older), ...(hasNewer ? newer.slice(0, after) : newer)],
      hasMore,
      hasNewer,
    };
  }

  /** Resolves once every append queued so far has been committed or failed. */
  idle(): Promise<void> {
    return this.#committer.idle();
  }
}
