import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PendingStatusChanges, type SessionStatusChange } from '../src/chat/pending-status-changes.js';

/**
 * Which waiting status change is announced, and when (chat/pending-status-changes.ts):
 * each user's newest, a second after it began to wait and every second while its reads
 * fail, never one a later change came before. The tracker's side is
 * test/status-announce-outage.test.ts.
 */
const change = (user: string, status: SessionStatusChange['status'], at: number): SessionStatusChange => ({ user, status, at });

/** `failing`: how many rounds find the database still away (their changes wait again). */
function pendingChanges(failing = 0) {
  const rounds: SessionStatusChange[][] = [];
  const pending: PendingStatusChanges = new PendingStatusChanges({
    announce: async (waiting) => {
      // As the tracker does, in the user's chain: only what is still due.
      if (!pending.take(waiting)) return;
      if (rounds.length <= failing) pending.wait(waiting);
      (rounds[rounds.length - 1] ?? []).push(waiting);
    },
  });
  const round = async () => {
    rounds.push([]);
    await vi.advanceTimersByTimeAsync(1000);
    return rounds[rounds.length - 1]!;
  };
  return { pending, round };
}

describe('PendingStatusChanges', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("announces each user's newest change, all in one round a second later", async () => {
    const { pending, round } = pendingChanges();
    pending.wait(change('alice', 'online', 1));
    pending.wait(change('bob', 'online', 1));
    pending.wait(change('alice', 'offline', 2));
    expect(await round()).toEqual([change('alice', 'offline', 2), change('bob', 'online', 1)]);
    expect(await round()).toEqual([]);
  });

  it('drops a change that a later one came before: made here, or made after it on another node', async () => {
    const { pending, round } = pendingChanges();
    pending.wait(change('alice', 'online', 100));
    pending.wait(change('bob', 'online', 100));
    pending.wait(change('carol', 'online', 100));
    // Another node's change from before alice's, heard late: hers still stands.
    pending.supersede('alice', 99);
    pending.supersede('bob', 100);
    pending.supersede('carol');
    expect(await round()).toEqual([change('alice', 'online', 100)]);
  });

  it('tries again every second while the database stays away, and not after close', async () => {
    const { pending, round } = pendingChanges(2);
    pending.wait(change('alice', 'online', 1));
    expect(await round()).toEqual([change('alice', 'online', 1)]);
    expect(await round()).toEqual([change('alice', 'online', 1)]);
    // Waiting again after the second round; closed before the third.
    pending.close();
    expect(await round()).toEqual([]);
  });
});
