import { describe, expect, it } from 'vitest';
import { BatchedCache } from '../src/chat/batched-cache.js';

describe('BatchedCache', () => {
  it('reads every key missed in one tick with one load, shares a read per key, and caches the answers', async () => {
    const loads: string[][] = [];
    const cache = new BatchedCache(async (keys: readonly string[]) => {
      loads.push([...keys]);
      return keys.map((key) => key.toUpperCase());
    });
    expect(await Promise.all([cache.get('a'), cache.get('b'), cache.get('a')])).toEqual(['A', 'B', 'A']);
    expect(await cache.getAll(['b', 'a'])).toEqual(['B', 'A']);
    expect(loads).toEqual([['a', 'b']]);
  });

  it('does not cache a read that a change or a drop overtook', async () => {
    let value = 'old';
    let release: () => void = () => {};
    const cache = new BatchedCache(async (keys: readonly string[]) => {
      const answer = value;
      await new Promise<void>((resolve) => (release = resolve));
      return keys.map(() => answer);
    });
    const first = cache.get('k');
    await new Promise((resolve) => setImmediate(resolve));
    cache.set('k', 'set while reading');
    release();
    expect(await first).toBe('old');
    expect(await cache.get('k')).toBe('set while reading');

    cache.drop('k');
    const second = cache.get('k');
    await new Promise((resolve) => setImmediate(resolve));
    value = 'new';
    cache.drop('k');
    release();
    expect(await second).toBe('old');
    const third = cache.get('k');
    await new Promise((resolve) => setImmediate(resolve));
    release();
    expect(await third).toBe('new');
    expect(cache.size).toBe(1);
  });

  it('keeps at most its limit, and a failed read caches nothing', async () => {
    let fail = true;
    const cache = new BatchedCache(async (keys: readonly number[]) => {
      if (fail) throw new Error('database down');
      return keys.map((key) => key * 2);
    }, { limit: 3 });
    await expect(cache.get(1)).rejects.toThrow('database down');
    fail = false;
    expect(await cache.get(1)).toBe(2);
    await cache.getAll([2, 3, 4]);
    expect(cache.size).toBeLessThanOrEqual(3);
    cache.dropWhere((value) => value === 8);
    expect(await cache.get(4)).toBe(8);
  });

  it('reads ahead without asking twice, and answers what it does not keep without caching it', async () => {
    const loads: string[][] = [];
    const stored = new Map<string, string>();
    const cache = new BatchedCache(
      async (keys: readonly string[]) => {
        loads.push([...keys]);
        return keys.map((key) => stored.get(key) ?? null);
      },
      { keep: (value) => value !== null },
    );
    stored.set('known', 'K');
    cache.readAhead('known');
    cache.readAhead('missing');
    cache.readAhead('known');
    expect(await cache.get('known')).toBe('K');
    expect(await cache.get('missing')).toBeNull();
    expect(loads).toEqual([['known', 'missing']]);

    // Kept: no read. Not kept: read again, and answered as stored now.
    cache.readAhead('known');
    stored.set('missing', 'M');
    expect(await cache.get('missing')).toBe('M');
    expect(loads).toEqual([['known', 'missing'], ['missing']]);
    expect(cache.peek('missing')).toBe('M');
  });
});
