import { describe, expect, it } from 'vitest';
import { MultiMap } from '../src/core/multimap.js';

describe('MultiMap', () => {
  it('counts values per key through one, several and none, and ignores what it does not hold', () => {
    const map = new MultiMap<string, string>();
    expect(map.add('ann', 's1')).toBe(1);
    expect(map.add('ann', 's1')).toBe(1);
    expect([...map.get('ann')]).toEqual(['s1']);
    expect(map.add('ann', 's2')).toBe(2);
    expect(map.add('bob', 's3')).toBe(1);
    expect([...map.get('ann')].sort()).toEqual(['s1', 's2']);
    expect([...map.keys()].map((key) => [key, map.count(key)])).toEqual([
      ['ann', 2],
      ['bob', 1],
    ]);
    expect(map.delete('ann', 'nope')).toBeNull();
    expect(map.delete('carl', 's1')).toBeNull();
    expect(map.delete('ann', 's1')).toBe(1);
    expect(map.delete('ann', 's2')).toBe(0);
    expect(map.count('ann')).toBe(0);
    expect([...map.get('ann')]).toEqual([]);
    expect(map.delete('bob', 's3')).toBe(0);
    expect(map.size).toBe(0);
  });
});
