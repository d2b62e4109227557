import { makeRoom } from '../core/make-room.js';
import { TickBatcher, type TickBatcherOptions } from '../store/tick-batcher.js';

/** Entries kept before the oldest quarter goes (a bound, not a working-set size). */
const DEFAULT_LIMIT = 100_000;

interface Flight<V> {
  readonly value: Promise<V>;
  /** Set when the key was changed or dropped while this load ran: its answer may predate that. */
  stale: boolean;
}

/**
 * A bounded map in front of a batched read: every key missed in one tick is read by one
 * `load` call (a connect storm makes one query, not one per connect), and concurrent
 * misses of one key share a read. A key changed (`set`) or dropped (`drop`, `clear`)
 * while its read was under way is answered from that read but not cached from it.
 *
 * @example
 *   const names = new BatchedCache((ids: readonly string[]) => db.namesOf(ids));
 *   await names.get('ann'); // one query for every id asked in this tick
 *   names.drop('ann'); // after a rename
 */
export class BatchedCache<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #flights = new Map<K, Flight<V>>();
  readonly #loader: TickBatcher<K, V>;
  readonly #limit: number;
  readonly #kept: (value: V) => boolean;

  /**
   * `load` answers the keys it is given, in their order. `keep` says which answers are
   * cached (default: all); the others are read again when next asked.
   */
  constructor(
    load: (keys: readonly K[]) => Promise<readonly V[]>,
    options: TickBatcherOptions & { limit?: number; keep?: (value: V) => boolean } = {},
  ) {
    this.#loader = new TickBatcher(load, options);
    this.#limit = options.limit ?? DEFAULT_LIMIT;
    this.#kept = options.keep ?? (() => true);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached value, if any (no read). */
  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  get(key: K): Promise<V> {
    if (this.#entries.has(key)) return Promise.resolve(this.#entries.get(key)!);
    const running = this.#flights.get(key);
    if (running) return running.value;
    const value = this.#loader.add(key);
    const flight: Flight<V> = { value, stale: false };
    this.#flights.set(key, flight);
    return value.then(
      (loaded) => {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
        if (!flight.stale && this.#kept(loaded)) this.#store(key, loaded);
        return loaded;
      },
      (error: unknown) => {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
        throw error;
      },
    );
  }

  /** Starts reading the key unless it is cached or being read; a failure reaches only a `get` sharing that read. */
  readAhead(key: K): void {
    if (this.#entries.has(key) || this.#flights.has(key)) return;
    this.get(key).catch(() => {});
  }

  getAll(keys: readonly K[]): Promise<V[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  /** The value as known now (a change this node made or was told of). */
  set(key: K, value: V): void {
    this.#abandon(key);
    this.#store(key, value);
  }

  drop(key: K): void {
    this.#abandon(key);
    this.#entries.delete(key);
  }

  /** Drops every entry for which `test` holds (rare changes whose keys are not known). */
  dropWhere(test: (value: V, key: K) => boolean): void {
    for (const [key, value] of this.#entries) if (test(value, key)) this.#entries.delete(key);
    for (const flight of this.#flights.values()) flight.stale = true;
    this.#flights.clear();
  }

  clear(): void {
    this.#entries.clear();
    for (const flight of this.#flights.values()) flight.stale = true;
    this.#flights.clear();
  }

  #abandon(key: K): void {
    const flight = this.#flights.get(key);
    if (!flight) return;
    flight.stale = true;
    this.#flights.delete(key);
  }

  #store(key: K, value: V): void {
    if (!this.#entries.has(key)) makeRoom(this.#entries, this.#limit);
    this.#entries.set(key, value);
  }
}
