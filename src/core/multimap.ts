const NONE: readonly never[] = [];

/**
 * Keys to sets of values, for the many keys that hold one value (a user with one
 * session): that value is stored as is, and a Set (about 230 bytes) only from the
 * second on. Values must not themselves be Sets.
 */
export class MultiMap<K, V> {
  readonly #entries = new Map<K, V | Set<V>>();

  /** Adds the value; returns how many the key holds now. */
  add(key: K, value: V): number {
    const held = this.#entries.get(key);
    if (held === undefined) {
      this.#entries.set(key, value);
      return 1;
    }
    if (held instanceof Set) return held.add(value).size;
    if (held === value) return 1;
    this.#entries.set(key, new Set([held, value]));
    return 2;
  }

  /** Removes the value; returns how many the key holds now, or null if it did not hold it. */
  delete(key: K, value: V): number | null {
    const held = this.#entries.get(key);
    if (held instanceof Set) {
      if (!held.delete(value)) return null;
      if (held.size === 0) this.#entries.delete(key);
      return held.size;
    }
    if (held === undefined || held !== value) return null;
    this.#entries.delete(key);
    return 0;
  }

  get(key: K): Iterable<V> {
    const held = this.#entries.get(key);
    if (held === undefined) return NONE;
    return held instanceof Set ? held : [held];
  }

  count(key: K): number {
    const held = this.#entries.get(key);
    if (held === undefined) return 0;
    return held instanceof Set ? held.size : 1;
  }

  get size(): number {
    return this.#entries.size;
  }

  keys(): IterableIterator<K> {
    return this.#entries.keys();
  }
}
