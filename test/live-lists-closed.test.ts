import { describe, expect, it } from 'vitest';
import type { ChatContext } from '../src/chat/chat-context.js';
import { LiveLists } from '../src/chat/live-lists.js';
import type { Delivery } from '../src/core/delivery.js';
import type { Session } from '../src/core/session.js';
import type { Channel, Member } from '../src/core/types.js';

/**
 * A members list asked for by a session that closes while the channel is read: the
 * session's lists were dropped when it closed, and the follow must not make them again
 * (an entry nobody removes, handed every later change of the channel).
 */
describe('live lists of a session that closes during a follow', () => {
  it('leave nothing behind once the read comes back', async () => {
    let channelRead!: (channel: Channel) => void;
    const hub = {
      getChannel: () => new Promise<Channel>((resolve) => (channelRead = resolve)),
      listMembers: async () => [],
      sendNotice: () => {},
    };
    const lists = new LiveLists({ hub } as unknown as ChatContext);
    const { session, frames } = recordingSession('s1', false);
    const following = lists.follow(session, 'members', { channel: 'general' });
    session.closed = true;
    lists.sessionClosed(session);
    channelRead({ id: 'general' } as Channel);
    await expect(following).rejects.toMatchObject({ code: 'unavailable' });

    lists.memberAdded({ channel: 'general', user: 'bo', role: 'member' } as Member);
    expect(frames).toEqual([]);
  });

  it('refuse a session closed before the follow ran (a gRPC stream cancelled while it connected)', async () => {
    const hub = { listChannels: async () => [], sendNotice: () => {} };
    const tables = { userStates: async () => [] };
    const lists = new LiveLists({ hub, tables } as unknown as ChatContext);
    const { session, frames } = recordingSession('s2', true);
    await expect(lists.follow(session, 'channels', {})).rejects.toMatchObject({ code: 'unavailable' });
    await expect(lists.follow(session, 'users', { users: ['bo'] })).rejects.toMatchObject({ code: 'unavailable' });
    lists.channelCreated({ id: 'news', type: 'public', createdBy: null } as unknown as Channel);
    lists.userChanged({ user: 'bo', name: 'bo', avatarUrl: null, statusText: null, status: 'online', lastSeen: null });
    expect(frames).toEqual([]);
  });
});

/** Ann's session, open or closed, whose sink keeps every frame it is handed. */
function recordingSession(id: string, closed: boolean): { session: Session & { closed: boolean }; frames: Delivery[] } {
  const frames: Delivery[] = [];
  const session = {
    id,
    principal: { kind: 'user', userId: 'ann', name: 'ann', roles: [] },
    transport: 'test',
    channels: new Set(),
    closed,
    sink: { deliver: (delivery: Delivery) => frames.push(delivery) },
  } as unknown as Session & { closed: boolean };
  return { session, frames };
}
