/**
 * Conditions re-checked whenever something happens (a frame, an ack, a reconnect), so a
 * test waits on the event itself rather than polling or sleeping.
 *
 * ```ts
 * readonly #waiters = new Waiters();
 * // on every frame: this.#waiters.wake();
 * await this.#waiters.until(() => this.frames.length > 2, 5000, 'three frames');
 * ```
 */
export class Waiters {
  readonly #pending = new Set<() => void>();

  /** Re-checks every pending condition; call it on anything that might satisfy one. */
  readonly wake = (): void => {
    for (const waiter of [...this.#pending]) waiter();
  };

  /**
   * Resolves with the first truthy value of `check`, checked now and on every `wake`.
   * After `timeoutMs` it rejects with `message` (a function is called then, so it can
   * describe the state at the time).
   */
  until<T>(check: () => T | undefined | false, timeoutMs: number, message: string | (() => string)): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (!value) return;
        this.#pending.delete(attempt);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#pending.delete(attempt);
        reject(new Error(typeof message === 'string' ? message : message()));
      }, timeoutMs);
      this.#pending.add(attempt);
      attempt();
    });
  }
}
