import { describe, expect, it } from 'vitest';
import type { ChannelEvent, Truncated } from '../client/src/index.js';
import { publish, range } from './helpers/retention-suite.js';
import { useSdkClients } from './helpers/sdk-clients.js';
import { startTestServer } from './helpers/test-server.js';

/**
 * The SDK's side of retention: a resume from further back than a channel keeps is a
 * `truncated` event (on the client and the subscription), then delivery goes on from what
 * is kept, in order; after a reconnect too.
 */
const clients = useSdkClients();

async function ringServer() {
  return startTestServer({ overrides: { namespaces: { ring: { retention: { mode: 'memory', maxCount: 5 }, autoCreate: true } } } });
}

function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    const poll = setInterval(() => {
      if (!check()) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    }, 5);
  });
}

describe('the SDK and retention', () => {
  it('reports a subscribe from beyond retention as truncated, then delivers what is kept', async () => {
    const server = await ringServer();
    for (let i = 1; i <= 12; i++) await publish(server, 'ring:a', `m${i}`);
    const client = clients.connect(server.wsUrl, 'bob');
    const onClient: Truncated[] = [];
    client.on('truncated', (t) => onClient.push(t));
    const onSubscription: Truncated[] = [];
    const seqs: number[] = [];
    await client.subscribe('ring:a', { since: 1, onEvent: (e: ChannelEvent) => seqs.push(e.seq), onTruncated: (t) => onSubscription.push(t) });
    await until(() => seqs.length === 5, 'the kept events');
    expect(seqs).toEqual(range(8, 12));
    expect(onSubscription).toEqual([{ channel: 'ring:a', since: 1, from: 8 }]);
    expect(onClient).toEqual(onSubscription);
    await publish(server, 'ring:a', 'm13');
    await until(() => seqs.length === 6, 'the live event');
    expect(seqs).toEqual(range(8, 13));
  });

  it('says truncated when a reconnect finds the ring has moved past its last seq', async () => {
    const server = await ringServer();
    const proxy = await clients.proxy(server.port);
    const client = clients.connect(`ws://127.0.0.1:${proxy.port}/ws`, 'bob');
    const truncated: Truncated[] = [];
    client.on('truncated', (t) => truncated.push(t));
    const seqs: number[] = [];
    await client.subscribe('ring:b', (e) => seqs.push(e.seq));
    await publish(server, 'ring:b', 'm1');
    await until(() => seqs.length === 1, 'the first event');
    // Offline while eleven more go by: the ring of five keeps 8-12.
    proxy.refuse();
    proxy.dropAll();
    await until(() => client.state !== 'connected', 'the drop');
    for (let i = 2; i <= 12; i++) await publish(server, 'ring:b', `m${i}`);
    proxy.accept();
    await until(() => seqs.length === 6, 'the resumed events');
    expect(seqs).toEqual([1, ...range(8, 12)]);
    expect(truncated).toEqual([{ channel: 'ring:b', since: 1, from: 8 }]);
  });
});
