import { describe, expect, it } from 'vitest';
import { SwitchboardError } from '../src/core/errors.js';
import { BatchRounds, TickBatcher } from '../src/store/tick-batcher.js';

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

  it('fails a batch whole when the database is unavailable, without a write per item, and writes the items behind it next', async () => {
    const outage = new SwitchboardError('unavailable', 'The database is unavailable; retry shortly.');
    const writes: string[][] = [];
    let release: () => void = () => {};
    let down = true;
    const batcher = new TickBatcher(async (items: readonly string[]) => {
      writes.push([...items]);
      if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      if (down) throw outage;
      return items.map((item) => item.toUpperCase());
    });
    const failed = ['a', 'b', 'c', 'd'].map((item) => batcher.add(item));
    while (writes.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // Queued behind the failing write: the next batch, written once the database is back.
    const behind = [batcher.add('e'), batcher.add('f')];
    release();
    for (const item of failed) await expect(item).rejects.toBe(outage);
    expect(writes).toEqual([['a', 'b', 'c', 'd']]);
    down = false;
    expect(await Promise.all(behind)).toEqual(['E', 'F']);
    expect(writes).toEqual([['a', 'b', 'c', 'd'], ['e', 'f']]);
  });

  it('stops writing item by item once the database turns out unavailable, and fails the rest with it', async () => {
    const outage = new SwitchboardError('unavailable');
    const writes: string[][] = [];
    const batcher = new TickBatcher(async (items: readonly string[]) => {
      writes.push([...items]);
      if (items.includes('bad')) throw new Error('refused');
      // The database goes away while the bad item's batch is written one by one.
      if (writes.length > 2) throw outage;
      return items;
    });
    const settled = await Promise.allSettled(['bad', 'b', 'c', 'd'].map((item) => batcher.add(item)));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([
      'refused',
      outage.message,
      outage.message,
      outage.message,
    ]);
    expect(writes).toEqual([['bad', 'b', 'c', 'd'], ['bad'], ['b']]);
  });

  it('with a linger, writes a lone item at once and a storm of items in few batches', async () => {
    const writes: number[][] = [];
    const batcher = new TickBatcher(
      async (items: readonly number[]) => {
        writes.push([...items]);
        return items.map((item) => item * 2);
      },
      { lingerMs: 40 },
    );
    // A lone item is not held back: it goes in the next turn of the event loop.
    const lone = batcher.add(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([[1]]);
    expect(await lone).toBe(2);

    // A storm: one item per turn of the event loop. Without the linger each would be a
    // batch of its own; with it, those of one linger share a write.
    const storm: Promise<number>[] = [];
    for (let i = 0; i < 30; i++) {
      storm.push(batcher.add(100 + i));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(storm)).toEqual(Array.from({ length: 30 }, (_, i) => 200 + 2 * i));
    expect(writes.flat()).toEqual([1, ...Array.from({ length: 30 }, (_, i) => 100 + i)]);
    expect(writes.length).toBeLessThan(10);
  });

  it('on shared rounds, runs every batcher asked in a round together, in the order asked, when the first of them is due', async () => {
    const rounds = new BatchRounds(0);
    const ran: string[] = [];
    const batcher = (name: string) =>
      new TickBatcher(
        async (items: readonly number[]) => {
          ran.push(`${name}:${items.join(',')}`);
          return items;
        },
        { lingerMs: 200, rounds },
      );
    // A long linger: a stalled machine must not let it pass between two turns of the loop.
    const writes = batcher('writes');
    const reads = batcher('reads');
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

    // A lone round goes at once; asked first, the write runs first.
    const write = writes.add(1);
    await reads.add(1);
    // Started in the same round: by the time the read is answered, the write has run too.
    expect(ran).toEqual(['writes:1', 'reads:1']);
    await write;

    // Asked again right after: both wait for their linger, then share a round, reads first now.
    const read = reads.add(2);
    const nextWrite = writes.add(2);
    await nextTurn();
    expect(ran).toEqual(['writes:1', 'reads:1']);
    await read;
    expect(ran.slice(2)).toEqual(['reads:2', 'writes:2']);
    await nextWrite;

    // A batcher that has not run lately is due at once: its round comes now, and takes the
    // lingering write along.
    const status = batcher('status');
    const lingering = writes.add(3);
    await nextTurn();
    expect(ran).toHaveLength(4);
    await status.add(1);
    expect(ran.slice(4)).toEqual(['writes:3', 'status:1']);
    await lingering;
  });
});
