/**
 * Cross-node publish-to-deliver latency: three node processes on PostgreSQL + Redis; one
 * publisher on node 0 at a fixed rate; subscribers on nodes 1 and 2 (cross-node) and on
 * node 0 (same node, for comparison). Latency is from sending the publish frame to the
 * event arriving at a subscriber, so it includes the store commit and the Redis hop.
 *
 *   TEST_DATABASE_URL=postgres://... TEST_REDIS_URL=redis://... \
 *     npx tsx bench/cluster-latency.ts [--rates 100,500] [--seconds 10] [--subscribers 10]
 *
 * Uses a fresh schema and Redis prefix, and removes them (and the nodes) when done.
 */
import { parseArgs } from 'node:util';
import { LeanClient, NodeProcess, range } from '../test/helpers/cluster.js';
import { createTestSchema } from '../test/helpers/postgres.js';
import { createRedisPrefix } from '../test/helpers/redis-prefix.js';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '100,500' },
    seconds: { type: 'string', default: '10' },
    subscribers: { type: 'string', default: '10' },
  },
});
const rates = values.rates.split(',').map(Number);
const seconds = Number(values.seconds);
const perNode = Number(values.subscribers);
const databaseUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;
if (!databaseUrl?.startsWith('postgres') || !redisUrl) {
  console.error('cluster-latency needs TEST_DATABASE_URL (postgres://...) and TEST_REDIS_URL');
  process.exit(1);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const schema = await createTestSchema(databaseUrl, 'bench');
const redis = createRedisPrefix(redisUrl, 'bench');
const options = {
  databaseUrl: schema.url,
  redisUrl: redis.url,
  config: { limits: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000, floodCloseAfter: 1_000_000 } },
};
const nodes: NodeProcess[] = [];
const clients: LeanClient[] = [];
try {
  nodes.push(await NodeProcess.start(options));
  nodes.push(...(await Promise.all([1, 2].map(() => NodeProcess.start(options)))));
  const publisher = await LeanClient.connect(nodes[0]!.wsUrl, 'publisher');
  clients.push(publisher);
  // Warm-up: the nodes' first seconds (JIT, pool connections, subscriptions) are not the steady state.
  await publisher.ok('channel.create', { channel: 'warmup', channelType: 'public' });
  const warmers = await Promise.all(nodes.map((node, n) => LeanClient.connect(node.wsUrl, `w${n}`)));
  clients.push(...warmers);
  for (const warmer of warmers) await warmer.ok('subscribe', { channel: 'warmup' });
  for (let i = 0; i < 500; i++) await publisher.ok('publish', { channel: 'warmup', text: `w${i}` });
  await Promise.all(warmers.map((w) => w.waitUntil(() => w.seqsOf('warmup').length >= 500, 30_000, 'warm-up')));

  const rows: string[] = [];
  for (const rate of rates) {
    const channel = `bench-${rate}`;
    await publisher.ok('channel.create', { channel, channelType: 'public' });
    const groups = new Map<string, LeanClient[]>([
      ['cross-node', []],
      ['same node', []],
    ]);
    for (const [n, node] of nodes.entries()) {
      const count = n === 0 ? Math.max(1, Math.round(perNode / 5)) : perNode;
      for (const i of range(count)) {
        const client = await LeanClient.connect(node.wsUrl, `s${n}-${i}`);
        client.timed = true;
        await client.ok('subscribe', { channel });
        clients.push(client);
        groups.get(n === 0 ? 'same node' : 'cross-node')!.push(client);
      }
    }
    const total = rate * seconds;
    const sentAt = new Map<number, number>();
    const started = performance.now();
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      // Open loop: each publish leaves at its slot whatever happened to the earlier ones.
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const sent = performance.now();
      acks.push(
        publisher.ok<{ seq: number }>('publish', { channel, text: `m${i}` }).then((ack) => sentAt.set(ack.seq, sent)),
      );
    }
    await Promise.all(acks);
    const everyone = [...groups.values()].flat();
    await Promise.all(everyone.map((c) => c.waitUntil(() => c.seqsOf(channel).length >= total, 60_000, 'all events')));
    for (const [name, members] of groups) {
      const latencies: number[] = [];
      for (const client of members) {
        for (const [seq, sent] of sentAt) latencies.push(client.arrivals.get(`${channel}:${seq}`)! - sent);
      }
      latencies.sort((a, b) => a - b);
      rows.push(
        `| ${rate} | ${name} | ${members.length} | ${latencies.length} | ${percentile(latencies, 50).toFixed(2)} | ${percentile(latencies, 99).toFixed(2)} | ${latencies.at(-1)!.toFixed(2)} |`,
      );
    }
    await Promise.all(everyone.map((c) => c.close()));
  }
  console.log(`\n3 nodes (PostgreSQL + Redis, one machine), ${seconds} s per rate, publisher on node 0\n`);
  console.log('| publishes/s | subscribers | count | deliveries | p50 ms | p99 ms | max ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
} finally {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(nodes.map((node) => node.stop()));
  await schema.drop();
  await redis.drop();
}
