import { type FileHandle, open, rename, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { HubObserver } from '../core/hub-observer.js';
import type { Logger } from '../core/logger.js';
import { presenceChangesOf } from '../core/presence-frames.js';
import type { ChannelEvent, ChannelId, EphemeralEvent, PresenceAction, UserId } from '../core/types.js';

export interface EventLogSettings {
  /** The JSON-lines file; rotated files are `PATH.1` (newest) ... `PATH.<keep>`. */
  readonly path: string;
  /** Buffered lines are written at least this often. */
  readonly flushMs: number;
  /** Size after which the file is rotated. */
  readonly maxBytes: number;
  /** Rotated files kept besides the current one. */
  readonly keep: number;
  /** What is written (see EventLogKind); default: messages only. */
  readonly kinds?: readonly EventLogKind[];
}

/**
 * `message`: every log event this node commits (a ChannelEvent, as before kinds existed);
 * `presence`: each join/add/remove/leave this node saw happen; `lifecycle`: channels
 * created and deleted here, and this node's start and close.
 */
export type EventLogKind = 'message' | 'presence' | 'lifecycle';

/** A line that is not a log event: it names its `type` and carries an `id` and a time (`at`, epoch milliseconds). */
type EventLogEntry =
  | {
      readonly type: 'presence';
      readonly id: string;
      readonly at: number;
      readonly channel: ChannelId;
      readonly action: PresenceAction;
      readonly user: UserId;
      readonly session: string;
    }
  | { readonly type: 'channel.created'; readonly id: string; readonly at: number; readonly channel: ChannelId; readonly channelType: string }
  | { readonly type: 'channel.deleted'; readonly id: string; readonly at: number; readonly channel: ChannelId }
  | { readonly type: 'node.start' | 'node.close'; readonly id: string; readonly at: number; readonly node: string };

/**
 * An append-only JSON-lines record of every event this node commits, one line per event
 * in commit order (a datalog to audit, replay or load elsewhere), and, by choice
 * (`kinds`), its presence changes and lifecycle: lines with a `type`, an `id` and `at`. Lines are buffered in
 * memory and written on an interval and at shutdown, so the hub never waits on this file.
 * In a cluster each node writes the events it committed; together they hold every event.
 */
export class EventLog {
  readonly #settings: EventLogSettings;
  readonly #logger: Logger;
  #buffer: string[] = [];
  #file: FileHandle | null = null;
  #size = 0;
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  /** How lifecycle lines name this node: host and process. */
  readonly #nodeName = `${hostname()}:${process.pid}`;

  private constructor(settings: EventLogSettings, logger: Logger) {
    this.#settings = settings;
    this.#logger = logger;
  }

  /** Opens (or creates) the file for appending and starts the flush timer. */
  static async open(settings: EventLogSettings, logger: Logger): Promise<EventLog> {
    const log = new EventLog(settings, logger);
    await log.#openFile();
    log.#timer = setInterval(() => void log.flush(), settings.flushMs);
    log.#timer.unref();
    log.#node('node.start');
    return log;
  }

  observer(): HubObserver {
    const kinds = new Set(this.#settings.kinds ?? ['message']);
    const observer: HubObserver = {};
    if (kinds.has('message')) observer.published = (event) => this.append(event);
    if (kinds.has('presence')) observer.presenceChanged = (frame) => this.#presence(frame);
    if (kinds.has('lifecycle')) {
      observer.channelCreated = (channel) =>
        this.#entry({ type: 'channel.created', id: randomUUID(), at: Date.now(), channel: channel.id, channelType: channel.type });
      observer.channelDeleted = (channel) => this.#entry({ type: 'channel.deleted', id: randomUUID(), at: Date.now(), channel });
    }
    return observer;
  }

  append(event: ChannelEvent): void {
    if (!this.#closed) this.#buffer.push(JSON.stringify(event));
  }

  #entry(entry: EventLogEntry): void {
    if (!this.#closed) this.#buffer.push(JSON.stringify(entry));
  }

  /** One line per change; a batch frame's changes share its time and get its id with their index. */
  #presence(frame: EphemeralEvent): void {
    const changes = presenceChangesOf(frame);
    if (!('id' in frame) || !('at' in frame)) return;
    changes.forEach((change, k) =>
      this.#entry({
        type: 'presence',
        id: changes.length === 1 ? frame.id : `${frame.id}/${k}`,
        at: frame.at,
        channel: frame.channel,
        action: change.action,
        user: change.user,
        session: change.session,
      }),
    );
  }

  #node(type: 'node.start' | 'node.close'): void {
    if ((this.#settings.kinds ?? ['message']).includes('lifecycle')) {
      this.#entry({ type, id: randomUUID(), at: Date.now(), node: this.#nodeName });
    }
  }

  /** Writes what is buffered; flushes run one after another, so lines keep their order. */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  /** Writes the rest and closes the file. Call after the hub has committed its last append. */
  async close(): Promise<void> {
    if (this.#closed) return this.#writing;
    if (this.#timer) clearInterval(this.#timer);
    this.#node('node.close');
    await this.flush();
    this.#closed = true;
    await this.#file?.close();
    this.#file = null;
  }

  async #write(): Promise<void> {
    if (this.#buffer.length === 0 || !this.#file) return;
    const lines = this.#buffer;
    this.#buffer = [];
    const chunk = Buffer.from(`${lines.join('\n')}\n`);
    try {
      if (this.#size > 0 && this.#size + chunk.length > this.#settings.maxBytes) await this.#rotate();
      await this.#file.appendFile(chunk);
      this.#size += chunk.length;
    } catch (error) {
      // Put the lines back: the next flush retries rather than leaving a hole.
      this.#buffer = lines.concat(this.#buffer);
      this.#logger.error({ err: error, path: this.#settings.path }, 'event log write failed; retrying on the next flush');
    }
  }

  async #rotate(): Promise<void> {
    await this.#file?.close();
    this.#file = null;
    const { path, keep } = this.#settings;
    for (let n = keep - 1; n >= 1; n--) await rename(`${path}.${n}`, `${path}.${n + 1}`).catch(() => {});
    if (keep > 0) await rename(path, `${path}.1`);
    await this.#openFile(keep === 0);
  }

  async #openFile(truncate = false): Promise<void> {
    this.#file = await open(this.#settings.path, truncate ? 'w' : 'a');
    this.#size = truncate ? 0 : (await stat(this.#settings.path)).size;
  }
}
