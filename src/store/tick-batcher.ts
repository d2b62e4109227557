import { isUnavailable } from '../core/errors.js';

interface Pending<I, O> {
  readonly item: I;
  readonly resolve: (output: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Batchers whose batches start together, in rounds. Each batcher asks for the next round
 * no earlier than its own linger allows; a round comes when the first of them is due and
 * runs every batcher asked so far, in the order they were first asked, in one turn of the
 * event loop. With SQLite's one connection their statements run back to back: a
 * connect's reads, started with its write of the user (HubObserver.connecting), are
 * answered in the same turn as the write, and the frames its session then sends leave
 * with its welcome. One per database: two SQLite connections in one process (tests'
 * nodes on one file) must not interleave their transactions.
 */
export class BatchRounds {
  /** How long the connect storm's batchers on this database linger (see stormBatching). */
  readonly lingerMs: number;
  readonly #asked = new Set<() => void>();
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  /** When the next round comes (performance.now()); Infinity: none is due. */
  #at = Infinity;

  constructor(lingerMs: number) {
    this.lingerMs = lingerMs;
  }

  /** Runs `flush` in the first round from `notBefore` on (performance.now() time), or in an earlier one. */
  ask(flush: () => void, notBefore: number): void {
    this.#asked.add(flush);
    if (notBefore >= this.#at) return;
    this.#cancel();
    const wait = notBefore - performance.now();
    if (wait >= 1) {
      this.#at = notBefore;
      this.#timer = setTimeout(this.#run, wait);
    } else {
      this.#at = -Infinity;
      this.#immediate = setImmediate(this.#run);
    }
  }

  #cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
  }

  readonly #run = (): void => {
    this.#cancel();
    this.#at = Infinity;
    const flushes = [...this.#asked];
    this.#asked.clear();
    for (const flush of flushes) flush();
  };
}

/**
 * How a connect storm's writes and reads on one database batch (users seen, status
 * changes, the connect caches' reads): in the database's rounds, with its linger (a few ms
 * of latency in a storm, none for a lone connect; SqlDialect.stormLingerMs says why each).
 */
export function stormBatching(rounds: BatchRounds): TickBatcherOptions {
  return { lingerMs: rounds.lingerMs, rounds };
}

export interface TickBatcherOptions {
  /**
   * A batch starts at least this long after the previous one started (ms). A lone item
   * still goes at once; in a storm, where connects arrive a few per tick, the items of
   * this long share a batch instead of paying a query (or a commit) per tick. 0: every tick.
   * With rounds, this is when the batcher asks for its round; a round another batcher
   * called first takes it along earlier.
   */
  readonly lingerMs?: number;
  /**
   * Batches start in these rounds, shared with the other batchers of the database: a
   * connect's write and reads stay in one round, at the price of a batch that may start
   * before its own linger has passed.
   */
  readonly rounds?: BatchRounds;
}

export interface TickBatcherHooks<I> {
  /**
   * Told of each item rejected without being written: the rest of a batch retried one by
   * one once the database turned out unavailable. Called before the item's promise rejects.
   */
  readonly unwritten?: (item: I) => void;
}

/**
 * Collects the items added in one tick (or one linger) and writes them with one call (one
 * transaction): a reconnect storm brings thousands of small writes that would otherwise
 * each pay a commit. One write runs at a time (two concurrent transactions upserting the
 * same rows in different orders could deadlock on PostgreSQL); items added meanwhile form
 * the next batch. A batch that fails is retried item by item, so one bad item (a name the
 * database refuses) fails alone; but one that fails because the database is unavailable
 * fails whole, each item with that error: retried one by one, each would wait out the
 * same timeout in turn (the pool's connect timeout, 5 s on PostgreSQL), and every batch
 * behind with them.
 */
export class TickBatcher<I, O> {
  readonly #write: (items: readonly I[]) => Promise<readonly O[]>;
  readonly #lingerMs: number;
  readonly #rounds: BatchRounds | null;
  readonly #unwritten: ((item: I) => void) | undefined;
  #pending: Pending<I, O>[] = [];
  #scheduled = false;
  #writing = false;
  /** When the last batch started (performance.now()). */
  #lastStart = -Infinity;

  constructor(write: (items: readonly I[]) => Promise<readonly O[]>, options: TickBatcherOptions & TickBatcherHooks<I> = {}) {
    this.#write = write;
    this.#lingerMs = options.lingerMs ?? 0;
    this.#rounds = options.rounds ?? null;
    this.#unwritten = options.unwritten;
  }

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing || this.#pending.length === 0) return;
    this.#scheduled = true;
    const due = this.#lastStart + this.#lingerMs;
    if (this.#rounds) {
      this.#rounds.ask(this.#run, due);
      return;
    }
    const wait = due - performance.now();
    if (wait >= 1) setTimeout(this.#run, wait);
    else setImmediate(this.#run);
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    void this.#flush();
  };

  /** Writes one batch; items added meanwhile are scheduled as the next. */
  async #flush(): Promise<void> {
    this.#writing = true;
    this.#lastStart = performance.now();
    const batch = this.#pending;
    this.#pending = [];
    try {
      const outputs = await this.#write(batch.map((pending) => pending.item));
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outputs[i]!);
    } catch (error) {
      if (batch.length === 1 || isUnavailable(error)) for (const pending of batch) pending.reject(error);
      else await this.#oneByOne(batch);
    }
    this.#writing = false;
    this.#schedule();
  }

  /** Writes each item alone; once the database turns out unavailable, the rest fail with it. */
  async #oneByOne(batch: readonly Pending<I, O>[]): Promise<void> {
    let outage: unknown = null;
    for (const pending of batch) {
      if (outage) {
        this.#unwritten?.(pending.item);
        pending.reject(outage);
        continue;
      }
      try {
        const [output] = await this.#write([pending.item]);
        pending.resolve(output!);
      } catch (error) {
        pending.reject(error);
        if (isUnavailable(error)) outage = error;
      }
    }
  }
}
