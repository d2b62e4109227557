import { describe, expect, it } from 'vitest';
import { publish, RETENTION_NAMESPACES } from './helpers/retention-suite.js';
import { startTestServer } from './helpers/test-server.js';
import { subscribeOn } from './helpers/wire-subscribers.js';

/**
 * A restart loses a `memory` channel's ring and a `none` channel's live state, never its
 * numbering: seqs go on from where they were (recorded in the database in the
 * background), so a resume from before the restart says `truncated` instead of seeing
 * seqs it already had again.
 */
describe('volatile channels across a restart of one node', () => {
  it('numbers memory and none channels on from where they were, and marks what the ring lost', async () => {
    const server = await startTestServer({ overrides: RETENTION_NAMESPACES });
    for (let i = 1; i <= 3; i++) {
      expect(await publish(server, 'ring:restart', `m${i}`)).toBe(i);
      expect(await publish(server, 'live:restart', `t${i}`)).toBe(i);
    }
    await server.restart();

    const resumed = await subscribeOn('ws', server, { user: 'bob' }, 'ring:restart', { since: 1 });
    expect(resumed.subscribed).toEqual({ seq: 3, epoch: 1, truncated: true, from: 4 });
    expect(await publish(server, 'ring:restart', 'm4')).toBe(4);
    await resumed.waitForSeq(4);
    expect(resumed.seqs()).toEqual([4]);

    const ticker = await subscribeOn('sse-stream', server, { user: 'bob' }, 'live:restart', { since: 3 });
    expect(ticker.subscribed).toEqual({ seq: 3, epoch: 1, truncated: false, from: null });
    expect(await publish(server, 'live:restart', 't4')).toBe(4);
    await ticker.waitForSeq(4);
    expect(ticker.seqs()).toEqual([4]);
  });
});
