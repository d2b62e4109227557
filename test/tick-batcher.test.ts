import { describe, expect, it } from 'vitest';
import { TickBatcher } from '../src/store/tick-batcher.js';

describe('TickBatcher', () => {
  it('writes a tick of items at once, one write at a time, and a bad item fails alone', async () => {
    const writes: string[][] = [];
    let running = 0;
    let overlapped = false;
    let release: () => void = () => {};
    let hold = true;
    const batcher = new TickBatcher(async (items: readonly string[]) => {
      running++;
      overlapped ||= running > 1;
      writes.push([...items]);
      if (hold) await new Promise<void>((resolve) => (release = resolve));
      running--;
      if (items.includes('bad')) throw new Error('refused');
      return items.map((item) => item.toUpperCase());
    });
    const first = [batcher.add('a'), batcher.add('b')];
    // Let the first write start, then add more while it is still running.
    while (writes.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const second = [batcher.add('c'), batcher.add('bad'), batcher.add('d')];
    hold = false;
    release();
    expect(await Promise.all(first)).toEqual(['A', 'B']);
    const settled = await Promise.allSettled(second);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : 'rejected'))).toEqual(['C', 'rejected', 'D']);
    expect(overlapped).toBe(false);
    expect(writes).toEqual([['a', 'b'], ['c', 'bad', 'd'], ['c'], ['bad'], ['d']]);
  });
});
