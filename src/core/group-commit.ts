import { SwitchboardError } from './errors.js';
import type { AppendRequest, AppendResult, Store } from './store.js';

interface Pending {
  readonly request: AppendRequest;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

export interface GroupCommitStats {
  batches: number;
  appended: number;
  lastBatchSize: number;
  lastCommitMillis: number;
}

/**
 * Collects appends and writes them in one transaction per batch: while one batch
 * commits, the next fills up, so under load many publishes share one fsync.
 */
export class GroupCommitter {
  readonly #store: Store;
  readonly #maxBatch: number;
  readonly #onCommit: ((size: number, millis: number) => void) | undefined;
  #queue: Pending[] = [];
  #flushing = false;
  #scheduled = false;
  #idleWaiters: (() => void)[] = [];

  constructor(store: Store, options: { maxBatch: number; onCommit?: (size: number, millis: number) => void }) {
    this.#store = store;
    this.#maxBatch = options.maxBatch;
    this.#onCommit = options.onCommit;
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#schedule();
    });
  }

  /** Resolves once every append queued so far has been committed or failed. */
  idle(): Promise<void> {
    if (!this.#flushing && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#flushing || this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate lets every frame read in this I/O turn join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= this.#maxBatch ? this.#queue : this.#queue.slice(0, this.#maxBatch);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#maxBatch);
      const started = performance.now();
      try {
        const results = await this.#store.appendBatch(batch.map((p) => p.request));
        this.#onCommit?.(batch.length, performance.now() - started);
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
      } catch (error) {
        if (isRefusedData(error) && batch.length > 1) {
          // One bad request must not fail the others it shared a transaction with.
          await this.#appendOneByOne(batch);
        } else {
          for (const pending of batch) pending.reject(refusal(error));
        }
      }
    }
    this.#flushing = false;
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  async #appendOneByOne(batch: readonly Pending[]): Promise<void> {
    for (const pending of batch) {
      try {
        const [result] = await this.#store.appendBatch([pending.request]);
        pending.resolve(result!);
      } catch (error) {
        pending.reject(refusal(error));
      }
    }
  }
}

/** The store refused a request's data (it throws bad_request); anything else is an outage. */
function isRefusedData(error: unknown): boolean {
  return error instanceof SwitchboardError && error.code === 'bad_request';
}

function refusal(error: unknown): SwitchboardError {
  return isRefusedData(error)
    ? new SwitchboardError('bad_request', 'The store refused this request; nothing was stored.')
    : new SwitchboardError('unavailable', 'The message store is unavailable; nothing was stored.');
}
