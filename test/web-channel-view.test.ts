import { describe, expect, it } from 'vitest';
import type { ChannelEvent } from '../client/src/index.js';
import { applyEvent, emptyView, mergeMessages } from '../web/src/model/channel-view.js';

const message = (seq: number): ChannelEvent =>
  ({ channel: 'general', seq, kind: 'message', author: 'bob', text: `m${seq}`, replyTo: null, target: null, createdAt: seq, editedAt: null, deletedAt: null }) as unknown as ChannelEvent;

describe("the web app's channel view", () => {
  it('keeps a message that arrives while its first page loads, for the page to be merged with', () => {
    // Subscribed, the first page requested: message 3 is stored and delivered after the
    // page was read (it holds 1 and 2).
    const loading = applyEvent(emptyView('general'), message(3));
    const page = [message(1), message(2)];
    // As ChatModel's first load merges them: the page, and what came live meanwhile.
    expect(mergeMessages(page, loading.messages).map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('leaves a window that stops before the newest message to page forward for it', () => {
    const window = { ...emptyView('general'), loaded: true, hasNewer: true, messages: [message(1)] };
    expect(applyEvent(window, message(9)).messages.map((m) => m.seq)).toEqual([1]);
  });
});
