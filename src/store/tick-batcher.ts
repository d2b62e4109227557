interface Pending<I, O> {
  readonly item: I;
  readonly resolve: (output: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The linger of the batchers a connect storm goes through (users seen, status changes, the
 * connect caches' reads): a few ms of latency in a storm, and none for a lone connect.
 */
export const STORM_LINGER_MS = 25;

export interface TickBatcherOptions {
  /**
   * A batch starts at least this long after the previous one started (ms). A lone item
   * still goes at once; in a storm, where connects arrive a few per tick, the items of
   * this long share a batch instead of paying a query (or a commit) per tick. 0: every tick.
   */
  readonly lingerMs?: number;
}

/**
 * Collects the items added in one tick (or one linger) and writes them with one call (one
 * transaction): a reconnect storm brings thousands of small writes that would otherwise
 * each pay a commit. One write runs at a time (two concurrent transactions upserting the
 * same rows in different orders could deadlock on PostgreSQL); items added meanwhile form
 * the next batch. A batch that fails is retried item by item, so one bad item (a name the
 * database refuses) fails alone.
 */
export class TickBatcher<I, O> {
  readonly #write: (items: readonly I[]) => Promise<readonly O[]>;
  readonly #lingerMs: number;
  #pending: Pending<I, O>[] = [];
  #scheduled = false;
  #writing = false;
  /** When the last batch started (performance.now()). */
  #lastStart = -Infinity;

  constructor(write: (items: readonly I[]) => Promise<readonly O[]>, options: TickBatcherOptions = {}) {
    this.#write = write;
    this.#lingerMs = options.lingerMs ?? 0;
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
    const wait = this.#lastStart + this.#lingerMs - performance.now();
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
      if (batch.length === 1) batch[0]!.reject(error);
      else await this.#oneByOne(batch);
    }
    this.#writing = false;
    this.#schedule();
  }

  async #oneByOne(batch: readonly Pending<I, O>[]): Promise<void> {
    for (const pending of batch) {
      try {
        const [output] = await this.#write([pending.item]);
        pending.resolve(output!);
      } catch (error) {
        pending.reject(error);
      }
    }
  }
}
