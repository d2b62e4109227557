import { describe, expect, it } from 'vitest';
import { KeyedBuckets } from '../src/edge/token-bucket.js';

/** Per-key budgets (login attempts per address, commands per user): what bounding them must not give away. */
describe('keyed token buckets', () => {
  it('keeps a throttled key throttled while a spray of other keys fills the table', () => {
    const buckets = new KeyedBuckets({ perSecond: 1, burst: 2, maxKeys: 8 });
    expect([buckets.take('attacker', 1, 0), buckets.take('attacker', 1, 0), buckets.take('attacker', 1, 0)]).toEqual([true, true, false]);
    for (let k = 0; k < 100; k++) expect(buckets.take(`spray-${k}`, 1, 0)).toBe(true);
    // Every key is busy, so the fullest went to make room: the spray's (one token taken), never the attacker's.
    expect(buckets.size).toBeLessThanOrEqual(8);
    expect(buckets.take('attacker', 1, 0)).toBe(false);
  });

  it('makes room by forgetting refilled buckets first, which forgives nothing', () => {
    const buckets = new KeyedBuckets({ perSecond: 1, burst: 2, maxKeys: 4 });
    for (const key of ['a', 'b', 'c']) buckets.take(key, 2, 0);
    buckets.take('busy', 2, 1_500);
    // At 2.5 s a, b and c have refilled (2 s at 1/s), busy has not: a new key forgets only them.
    expect(buckets.take('new', 1, 2_500)).toBe(true);
    expect(buckets.size).toBe(2);
    expect([buckets.take('busy', 2, 2_500), buckets.take('a', 2, 2_500)]).toEqual([false, true]);
  });
});
