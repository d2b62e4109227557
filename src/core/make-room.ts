/**
 * Makes room in a bounded cache before it takes a new key: at `limit` entries its oldest
 * quarter goes (insertion order). Emptying it at once made every hot key miss together,
 * and dropping one key at a time would walk again, on every new key, the deleted slots a
 * Map keeps at its front until it compacts.
 *
 * @example
 *   if (!cache.has(id)) makeRoom(cache, 10_000);
 *   cache.set(id, channel);
 */
export function makeRoom<K>(cache: Map<K, unknown> | Set<K>, limit: number): void {
  if (cache.size < limit) return;
  let dropping = Math.ceil(limit / 4);
  for (const key of cache.keys()) {
    if (dropping-- === 0) break;
    cache.delete(key);
  }
}
