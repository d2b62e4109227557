import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../src/core/deadline-queue.js';

/**
 * The hub's one timer for expiring sessions: each item fires once, at its deadline, in
 * deadline order; cancelled ones never; a moved one at its new deadline.
 */
describe('DeadlineQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires each item once at its deadline, in order; cancelled never, rescheduled at the new time', () => {
    const fired: [string, number][] = [];
    const queue = new DeadlineQueue<string>((item) => fired.push([item, Date.now()]));
    const start = Date.now();
    const a = queue.schedule('a', start + 300);
    queue.schedule('b', start + 100);
    const c = queue.schedule('c', start + 200);
    const d = queue.schedule('d', start + 400);
    queue.schedule('e', start + 150);
    queue.cancel(c);
    queue.reschedule(a, start + 50);
    queue.reschedule(d, start + 1000);
    expect(vi.getTimerCount()).toBe(1);

    vi.advanceTimersByTime(99);
    expect(fired).toEqual([['a', start + 50]]);
    vi.advanceTimersByTime(901);
    expect(fired.map(([item]) => item)).toEqual(['a', 'b', 'e', 'd']);
    expect(fired.at(-1)).toEqual(['d', start + 1000]);
    expect(queue.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    // Cancelling what already fired changes nothing; rescheduling it schedules it anew.
    queue.cancel(a);
    queue.reschedule(a, start + 1500);
    vi.advanceTimersByTime(500);
    expect(fired.at(-1)).toEqual(['a', start + 1500]);
  });

  it('reaches deadlines beyond the longest timer in steps, and fires nothing once stopped', () => {
    const fired: string[] = [];
    const queue = new DeadlineQueue<string>((item) => fired.push(item));
    const days = 40 * 24 * 3600 * 1000;
    queue.schedule('far', Date.now() + days);
    queue.schedule('near', Date.now() + 10);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(['near']);
    vi.advanceTimersByTime(days - 20);
    expect(fired).toEqual(['near']);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(['near', 'far']);

    queue.schedule('never', Date.now() + 5);
    queue.stop();
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['near', 'far']);
  });
});
