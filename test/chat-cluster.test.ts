import { expect, it } from 'vitest';
import { type NodeProcess, startNodeCluster } from './helpers/cluster.js';
import { describeWithServices } from './helpers/services.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * The chat features across real node processes on PostgreSQL and Redis: status fan-out,
 * live lists and mentions cross nodes, and a node killed with -9 leaves its users offline.
 */
const clients = useWsClients();

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'chat features across node processes', () => {
  it('carries status, list changes and mentions between nodes, and marks a killed node\'s users offline', async () => {
    const nodes = await startNodeCluster('chatcluster', 2, () => clients.closeAll());
    const [one, two] = nodes as [NodeProcess, NodeProcess];

    const alice = await clients.connect(one.wsUrl, 'alice');
    const bob = await clients.connect(two.wsUrl, 'bob');
    await alice.ok('contacts.add', { user: 'bob' });
    await alice.ok('list.subscribe', { list: 'channels' });
    await alice.ok('subscribe', { channel: 'user:alice' });

    await bob.ok('status.set', { status: 'away' });
    await alice.waitFor((f) => f.type === 'status' && f.user === 'bob' && f.status === 'away');
    await bob.ok('channel.create', { channel: 'made-on-two', channelType: 'public' });
    await alice.waitFor((f) => f.type === 'list' && (f.item as { id?: string }).id === 'made-on-two');
    await bob.ok('publish', { channel: 'made-on-two', text: 'hello @alice' });
    await alice.waitFor((f) => f.type === 'event' && f.channel === 'user:alice');

    // kill -9: no goodbye. Redis declares the node dead after 5 s without its heartbeat.
    const killedAt = Date.now();
    await two.kill();
    await alice.waitFor((f) => f.type === 'status' && f.user === 'bob' && f.status === 'offline', 20_000);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    const [state] = (await alice.ok<{ contacts: { status: string }[] }>('contacts.list')).contacts;
    expect(state!.status).toBe('offline');
  });
});
