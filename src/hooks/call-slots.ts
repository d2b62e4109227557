/**
 * A bound on calls in flight to one backend: `acquire` resolves when one of `size` slots
 * is free (first come, first served), or rejects when the caller's signal aborts first.
 */
export class CallSlots {
  readonly #size: number;
  #busy = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  acquire(signal: AbortSignal): Promise<void> {
    if (this.#busy < this.#size) {
      this.#busy++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const granted = () => {
        signal.removeEventListener('abort', gaveUp);
        resolve();
      };
      const gaveUp = () => {
        this.#waiting.splice(this.#waiting.indexOf(granted), 1);
        reject(signal.reason);
      };
      this.#waiting.push(granted);
      signal.addEventListener('abort', gaveUp, { once: true });
    });
  }

  /** Hands the slot to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#busy--;
  }
}
