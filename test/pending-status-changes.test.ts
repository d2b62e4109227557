import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PendingStatusChanges, type SessionStatusChange } from '../src/chat/pending-status-changes.js';

/**
 * Which waiting status change is announced, and when (chat/pending-status-changes.ts):
 * each user's newest, a second after it began to wait and every second while its reads
 * fail, never one a later change came before, even while its reads were under way. The
 * tracker's side is test/status-announce-outage.test.ts and test/status-registry-outage.test.ts.
 */
const change = (user: string, status: SessionStatusChange['status'], at: number): SessionStatusChange => ({ user, status, at });

/** `failing`: how many rounds find the database still away (their changes wait again). */
function pendingChanges(failing = 0) {
  const rounds: SessionStatusChange[][] = [];
  const pending: PendingStatusChanges = new PendingStatusChanges({
    announce: async (waiting) => {
      // As the tracker does, in the user's chain: only what is still due.
      if (!pending.due(waiting)) return;
      if (rounds.length <= failing) pending.wait(waiting);
      else pending.forget(waiting);
      (rounds[rounds.length - 1] ?? []).push(waiting);
    },
  });
  /** A change whose first reads found the database away. */
  const failed = (waiting: SessionStatusChange) => {
    pending.begin(waiting);
    return pending.wait(waiting);
  };
  const round = async () => {
    rounds.push([]);
    await vi.advanceTimersByTimeAsync(1000);
    return rounds[rounds.length - 1]!;
  };
  return { pending, round, failed };
}

describe('PendingStatusChanges', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("announces each user's newest change, all in one round a second later", async () => {
    const { round, failed } = pendingChanges();
    failed(change('alice', 'online', 1));
    failed(change('bob', 'online', 1));
    failed(change('alice', 'offline', 2));
    // One round for both, in no particular order.
    expect((await round()).sort((a, b) => a.user.localeCompare(b.user))).toEqual([change('alice', 'offline', 2), change('bob', 'online', 1)]);
    expect(await round()).toEqual([]);
  });

  it('drops a change that a later one came before: made here, or made after it on another node', async () => {
    const { pending, round, failed } = pendingChanges();
    failed(change('alice', 'online', 100));
    failed(change('bob', 'online', 100));
    failed(change('carol', 'online', 100));
    // Another node's change from before alice's, heard late: hers still stands.
    pending.supersede('alice', 99);
    pending.supersede('bob', 100);
    pending.supersede('carol');
    expect(await round()).toEqual([change('alice', 'online', 100)]);
  });

  it('drops a change that a later one came before while its reads were under way', async () => {
    const { pending, round } = pendingChanges();
    const alice = change('alice', 'online', 100);
    const bob = change('bob', 'online', 100);
    pending.begin(alice);
    pending.begin(bob);
    // Heard during the reads: another node's change made after alice's, and one from before bob's.
    pending.supersede('alice', 101);
    pending.supersede('bob', 99);
    expect(pending.wait(alice)).toBe(false);
    expect(pending.wait(bob)).toBe(true);
    expect(await round()).toEqual([bob]);
  });

  it('leaves a change whose reads are under way to them: a round announces only those waiting', async () => {
    const { pending, round, failed } = pendingChanges();
    const bob = change('bob', 'online', 1);
    failed(change('alice', 'online', 1));
    pending.begin(bob);
    expect(await round()).toEqual([change('alice', 'online', 1)]);
    // Bob's reads failed after that round: his turn is the next one, a second later.
    expect(pending.wait(bob)).toBe(true);
    expect(await round()).toEqual([bob]);
  });

  it('tries again every second while the database stays away, and not after close', async () => {
    const { pending, round, failed } = pendingChanges(2);
    failed(change('alice', 'online', 1));
    expect(await round()).toEqual([change('alice', 'online', 1)]);
    expect(await round()).toEqual([change('alice', 'online', 1)]);
    // Waiting again after the second round; closed before the third.
    pending.close();
    expect(await round()).toEqual([]);
  });
});
