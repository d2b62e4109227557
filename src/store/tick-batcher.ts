interface Pending<I, O> {
  readonly item: I;
  readonly resolve: (output: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Collects the items added in one tick and writes them with one call (one transaction):
 * a reconnect storm brings thousands of small writes that would otherwise each pay a
 * commit. If the write fails, every item of its batch fails with it.
 */
export class TickBatcher<I, O> {
  readonly #write: (items: readonly I[]) => Promise<readonly O[]>;
  #pending: Pending<I, O>[] = [];

  constructor(write: (items: readonly I[]) => Promise<readonly O[]>) {
    this.#write = write;
  }

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => void this.#flush());
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      const outputs = await this.#write(batch.map((pending) => pending.item));
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outputs[i]!);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
