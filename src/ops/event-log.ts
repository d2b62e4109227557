import { type FileHandle, open, rename, stat } from 'node:fs/promises';
import type { HubObserver } from '../core/hub-observer.js';
import type { Logger } from '../core/logger.js';
import type { ChannelEvent } from '../core/types.js';

export interface EventLogSettings {
  /** The JSON-lines file; rotated files are `PATH.1` (newest) ... `PATH.<keep>`. */
  readonly path: string;
  /** Buffered lines are written at least this often. */
  readonly flushMs: number;
  /** Size after which the file is rotated. */
  readonly maxBytes: number;
  /** Rotated files kept besides the current one. */
  readonly keep: number;
}

/**
 * An append-only JSON-lines record of every event this node commits, one line per event
 * in commit order (a datalog to audit, replay or load elsewhere). Lines are buffered in
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
    return log;
  }

  observer(): HubObserver {
    return { published: (event) => this.append(event) };
  }

  append(event: ChannelEvent): void {
    if (!this.#closed) this.#buffer.push(JSON.stringify(event));
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
