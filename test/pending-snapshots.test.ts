import { describe, expect, it } from 'vitest';
import type { UserState } from '../protocol/values.js';
import { PendingSnapshots } from '../src/chat/pending-snapshots.js';
import { silentLogger } from '../src/core/logger.js';
import type { Session } from '../src/core/session.js';

/**
 * A contacts snapshot read on time (chat/pending-snapshots.ts): the status frames its
 * session got while it was read stand over what was read. The late snapshots' side is
 * test/contacts-snapshot-outage.test.ts.
 */
const state = (user: string, status: UserState['status'], lastSeen: number | null): UserState =>
  ({ user, name: user, status, lastSeen }) as UserState;

function pendingSnapshots() {
  return new PendingSnapshots({
    read: async () => [],
    send: () => {},
    logger: silentLogger,
  });
}

const session = (id: string, user: string) => ({ id, principal: { userId: user } }) as unknown as Session;

describe('PendingSnapshots, on time', () => {
  it('lays what the session heard during the read over what was read', () => {
    const pending = pendingSnapshots();
    pending.due(session('s1', 'alice'));
    // Another node told bob's last disconnect before writing it: the read still says online.
    pending.heard('s1', state('bob', 'offline', 500));
    const read = [state('bob', 'online', null), state('carol', 'online', null)];
    expect(pending.onTime('s1', read)).toEqual([state('bob', 'offline', 500), state('carol', 'online', null)]);
  });

  it('sends the read as it is when nothing was heard, and forgets the session once sent', () => {
    const pending = pendingSnapshots();
    pending.due(session('s1', 'alice'));
    const read = [state('bob', 'online', null)];
    expect(pending.onTime('s1', read)).toBe(read);
    // Frames after the snapshot are the session's news, not a correction of it.
    pending.heard('s1', state('bob', 'offline', 900));
    expect(pending.onTime('s1', read)).toBe(read);
  });

  it('keeps what one session heard to that session', () => {
    const pending = pendingSnapshots();
    pending.due(session('s1', 'alice'));
    pending.due(session('s2', 'dave'));
    pending.heard('s1', state('bob', 'offline', 500));
    const read = [state('bob', 'online', null)];
    expect(pending.onTime('s2', read)).toBe(read);
    expect(pending.onTime('s1', read)).toEqual([state('bob', 'offline', 500)]);
  });
});
