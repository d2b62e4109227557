interface Pending<I, O> {
  readonly item: I;
  readonly resolve: (output: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Collects the items added in one tick and writes them with one call (one transaction):
 * a reconnect storm brings thousands of small writes that would otherwise each pay a
 * commit. One write runs at a time (two concurrent transactions upserting the same rows
 * in different orders could deadlock on PostgreSQL); items added meanwhile form the next
 * batch. A batch that fails is retried item by item, so one bad item (a name the
 * database refuses) fails alone.
 */
export class TickBatcher<I, O> {
  readonly #write: (items: readonly I[]) => Promise<readonly O[]>;
  #pending: Pending<I, O>[] = [];
  #scheduled = false;
  #writing = false;

  constructor(write: (items: readonly I[]) => Promise<readonly O[]>) {
    this.#write = write;
  }

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const outputs = await this.#write(batch.map((pending) => pending.item));
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outputs[i]!);
      } catch (error) {
        if (batch.length === 1) batch[0]!.reject(error);
        else await this.#oneByOne(batch);
      }
    }
    this.#writing = false;
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
