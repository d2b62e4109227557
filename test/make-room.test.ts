import { describe, expect, it } from 'vitest';
import { makeRoom } from '../src/core/make-room.js';

describe('makeRoom', () => {
  it('leaves a cache under its limit alone, and drops the oldest quarter of a full one', () => {
    const cache = new Map(Array.from({ length: 7 }, (_, k) => [`k${k}`, k]));
    makeRoom(cache, 8);
    expect(cache.size).toBe(7);
    cache.set('k7', 7);
    makeRoom(cache, 8);
    expect([...cache.keys()]).toEqual(['k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  });

  it('keeps the newest keys of a set through many rounds, never more than the limit', () => {
    const seen = new Set<number>();
    for (let k = 0; k < 1000; k++) {
      makeRoom(seen, 100);
      seen.add(k);
      expect(seen.size).toBeLessThanOrEqual(100);
    }
    expect(seen.has(999) && seen.has(925)).toBe(true);
    expect(seen.has(0)).toBe(false);
  });
});
