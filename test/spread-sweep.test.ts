import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpreadSweep } from '../src/transports/spread-sweep.js';
import { collectGarbage } from './helpers/collect-garbage.js';

describe('SpreadSweep (heartbeats spread over their period)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('visits every member once per period, a bounded slice per tick', () => {
    const members = new Set(Array.from({ length: 1000 }, (_, k) => k));
    const visits = new Map<number, number>();
    const sweep = new SpreadSweep(members, 1000, (m) => visits.set(m, (visits.get(m) ?? 0) + 1));
    vi.advanceTimersByTime(100);
    expect(visits.size).toBe(100);
    vi.advanceTimersByTime(900);
    expect(visits.size).toBe(1000);
    expect([...visits.values()].every((n) => n === 1)).toBe(true);
    vi.advanceTimersByTime(1000);
    expect([...visits.values()].every((n) => n === 2)).toBe(true);
    sweep.stop();
    vi.advanceTimersByTime(5000);
    expect([...visits.values()].every((n) => n === 2)).toBe(true);
  });

  it('skips members removed during a pass and visits members added during it', () => {
    const members = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const visited: number[] = [];
    const sweep = new SpreadSweep(members, 1000, (m) => visited.push(m));
    vi.advanceTimersByTime(100);
    expect(visited).toEqual([1]);
    members.delete(5);
    members.add(11);
    vi.advanceTimersByTime(900);
    sweep.stop();
    expect(visited).not.toContain(5);
    expect(visited).toContain(11);
    expect(new Set(visited).size).toBe(visited.length);
  });

  it('visits a set smaller than a period has ticks once per period, not once per pass', () => {
    const members = new Set(['a', 'b', 'c']);
    const visited: string[] = [];
    const sweep = new SpreadSweep(members, 1000, (m) => visited.push(m));
    vi.advanceTimersByTime(1000);
    expect(visited).toEqual(['a', 'b', 'c']);
    vi.advanceTimersByTime(1000);
    sweep.stop();
    expect(visited).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('keeps the period exact when a pass ends on a tick boundary (a 50 ms heartbeat pings every 50 ms)', () => {
    const members = new Set(['a']);
    let visits = 0;
    const sweep = new SpreadSweep(members, 50, () => visits++);
    vi.advanceTimersByTime(1000);
    sweep.stop();
    expect(visits).toBe(20);
  });

  it('covers a period shorter than its tick in one slice', () => {
    const members = new Set(['a', 'b', 'c']);
    const visited: string[] = [];
    const sweep = new SpreadSweep(members, 50, (m) => visited.push(m));
    vi.advanceTimersByTime(50);
    sweep.stop();
    expect(visited).toEqual(['a', 'b', 'c']);
  });

  it('lets go of removed members once the set is empty (a pass left half done kept them alive)', async () => {
    const members = new Set<object>();
    const removed = addMembers(members, 1000);
    const sweep = new SpreadSweep(members, 1000, () => {});
    vi.advanceTimersByTime(100);
    // Emptied mid-pass: the set's table shrinks and the pass's iterator holds the old one.
    members.clear();
    vi.advanceTimersByTime(100);
    // WeakRefs hold their targets until the job that made them ends.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    sweep.stop();
    expect(removed.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
  });
});

/** Made apart from the test, whose suspended frame would hold the last one alive. */
function addMembers(members: Set<object>, count: number): WeakRef<object>[] {
  return Array.from({ length: count }, (_, k) => {
    const member = { k };
    members.add(member);
    return new WeakRef(member);
  });
}
