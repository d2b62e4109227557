/**
 * A load-generator process. The orchestrator (bench/run.ts) forks several of these so the
 * clients never share a core with each other's bookkeeping more than they must; each one
 * holds a share of the connections and answers requests over the IPC channel.
 */
import type { RawWs } from './lib/raw-ws.js';
import { type ClientProtocol, now, protocolFor, type ServerKind } from './lib/targets.js';
import type { BenchRetention, ClientSpec, PublishRequest, PublishSummary, ResumeSpec, WorkerRequest, WorkerStats } from './lib/worker-protocol.js';

interface Client {
  readonly ws: RawWs;
  readonly probe: boolean;
  readonly channel: string | null;
}

interface Publisher {
  readonly ws: RawWs;
  readonly channel: string;
  readonly pending: Map<number, number>;
}

const clients: Client[] = [];
const publishers: Publisher[] = [];
let latencies: number[] = [];
let protocol: ClientProtocol | null = null;
let nextId = 1;
let ackLatencies: number[] = [];
let acked = 0;
let refused = 0;
const refusals: Record<string, number> = {};
const closeCodes: Record<string, number> = {};

function use(kind: ServerKind): ClientProtocol {
  protocol = protocolFor(kind);
  return protocol;
}

/** Probes and chat users decode every frame: deliveries are timed, acks settle publishes. */
function onDecoded(text: string, pending: Map<number, number> | null): void {
  const sentAt = protocol!.sentAtOf(text);
  if (sentAt !== undefined) {
    latencies.push(now() - sentAt);
    return;
  }
  if (!pending) return;
  const ack = protocol!.ackOf(text);
  if (!ack) return;
  const started = pending.get(ack.id);
  if (started === undefined) return;
  pending.delete(ack.id);
  if (ack.ok) {
    acked++;
    ackLatencies.push(now() - started);
  } else {
    refused++;
    refusals[ack.error ?? 'unknown'] = (refusals[ack.error ?? 'unknown'] ?? 0) + 1;
  }
  wakePublisher?.();
}

let wakePublisher: (() => void) | null = null;

function watchClose(ws: RawWs): void {
  ws.onClosed = (code) => {
    const key = String(code ?? 'none');
    closeCodes[key] = (closeCodes[key] ?? 0) + 1;
  };
}

async function inBatches<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!);
  });
  await Promise.all(lanes);
}

async function connect(request: { kind: ServerKind; port: number; clients: ClientSpec[]; concurrency: number }) {
  const p = use(request.kind);
  const started = performance.now();
  let failed = 0;
  let firstError: string | null = null;
  const connectMillis: number[] = [];
  await inBatches(request.clients, request.concurrency, async (spec) => {
    try {
      const begun = performance.now();
      const ws = await p.connect(request.port, spec.user, spec.channel, { token: spec.token, presence: spec.presence });
      connectMillis.push(performance.now() - begun);
      watchClose(ws);
      const decode = spec.probe || spec.publishes === true;
      ws.mode = decode ? 'decode' : 'count';
      const client: Client = { ws, probe: spec.probe, channel: spec.channel };
      if (spec.publishes && spec.channel) {
        const publisher: Publisher = { ws, channel: spec.channel, pending: new Map() };
        publishers.push(publisher);
        ws.onText = (text) => onDecoded(text, publisher.pending);
      } else {
        ws.onText = decode ? (text) => onDecoded(text, null) : null;
      }
      clients.push(client);
    } catch (error) {
      failed++;
      firstError ??= (error as Error).message;
    }
  });
  return { connected: request.clients.length - failed, failed, firstError, millis: performance.now() - started, connectMillis };
}

async function openPublishers(request: { kind: ServerKind; port: number; channels: string[]; count: number; create: boolean; retention?: BenchRetention }) {
  const p = use(request.kind);
  for (let i = 0; i < request.count; i++) {
    const channel = request.channels[i % request.channels.length]!;
    const ws = await p.connect(request.port, `publisher-${process.pid}-${i}`, null);
    watchClose(ws);
    if (request.create && i < request.channels.length) await p.prepareChannel(ws, channel, request.retention);
    const publisher: Publisher = { ws, channel, pending: new Map() };
    ws.onText = (text) => onDecoded(text, publisher.pending);
    publishers.push(publisher);
  }
  if (request.create) {
    // Pipelined: the server's group commit stores many channel.create requests at once.
    await Promise.all(request.channels.slice(request.count).map((channel) => p.prepareChannel(publishers[0]!.ws, channel, request.retention)));
  }
  return { publishers: publishers.length };
}

/**
 * `window`: every publisher keeps `window` publishes in flight and sends the next one when
 * an ack arrives (as fast as acks allow). `rate`: publishes per second over all publishers,
 * paced every 5 ms, with at most `window` in flight per publisher (none dropped silently:
 * the shortfall shows as `sent` below the target). `interval`: each publisher sends one
 * message every `intervalMs`, at a random phase (chat).
 */
async function publish(request: PublishRequest): Promise<PublishSummary> {
  const p = protocol!;
  const text = 'x'.repeat(request.payloadBytes);
  acked = 0;
  refused = 0;
  ackLatencies = [];
  for (const key of Object.keys(refusals)) delete refusals[key];
  let sent = 0;
  const cpuAtStart = process.cpuUsage();
  const started = performance.now();
  const endAt = started + request.seconds * 1000;
  const send = (publisher: Publisher) => {
    const id = nextId++;
    const sentAt = now();
    publisher.pending.set(id, sentAt);
    publisher.ws.send(p.publishFrame(id, publisher.channel, text, sentAt));
    sent++;
  };
  const active = publishers.filter((publisher) => publisher.ws.isOpen);
  if (request.mode === 'window') {
    await new Promise<void>((resolve) => {
      const limit = request.count ?? Infinity;
      const finish = () => {
        clearInterval(guard);
        wakePublisher = null;
        resolve();
      };
      const fill = () => {
        if (performance.now() >= endAt) return finish();
        for (const publisher of active) while (publisher.pending.size < request.window && sent < limit) send(publisher);
        if (sent >= limit && active.every((publisher) => publisher.pending.size === 0)) finish();
      };
      // Ends the run on time even when no ack comes (a closed connection).
      const guard = setInterval(() => {
        if (performance.now() >= endAt) finish();
      }, 50);
      wakePublisher = fill;
      fill();
    });
  } else if (request.mode === 'rate') {
    await new Promise<void>((resolve) => {
      let turn = 0;
      const tick = setInterval(() => {
        const elapsed = performance.now() - started;
        if (elapsed >= request.seconds * 1000) {
          clearInterval(tick);
          resolve();
          return;
        }
        const due = Math.floor((elapsed / 1000) * request.rate) - sent;
        for (let k = 0; k < due; k++) {
          const publisher = active[turn++ % active.length]!;
          if (publisher.pending.size >= request.window) break;
          send(publisher);
        }
      }, 5);
    });
  } else {
    await new Promise<void>((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      for (const publisher of active) {
        const phase = Math.random() * request.intervalMs;
        timers.push(
          setTimeout(() => {
            send(publisher);
            timers.push(setInterval(() => send(publisher), request.intervalMs));
          }, phase),
        );
      }
      setTimeout(() => {
        for (const timer of timers) clearTimeout(timer);
        resolve();
      }, request.seconds * 1000);
    });
  }
  const elapsedMs = performance.now() - started;
  const ackedInWindow = acked;
  const cpu = process.cpuUsage(cpuAtStart);
  // Give acks still in flight a moment, bounded.
  const drainUntil = performance.now() + 5000;
  while (publishers.some((publisher) => publisher.pending.size > 0) && performance.now() < drainUntil) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let lost = 0;
  for (const publisher of publishers) {
    lost += publisher.pending.size;
    publisher.pending.clear();
  }
  const acks = ackLatencies;
  ackLatencies = [];
  return { sent, acked, ackedInWindow, refused, refusals: { ...refusals }, unanswered: lost, elapsedMs, cpuSeconds: (cpu.user + cpu.system) / 1e6, ackLatencies: acks };
}

function stats(): WorkerStats {
  let deliveries = 0;
  let bytes = 0;
  let frames = 0;
  let open = 0;
  for (const client of clients) {
    deliveries += client.ws.deliveries;
    bytes += client.ws.deliveryBytes;
    frames += client.ws.frames;
    if (client.ws.isOpen) open++;
  }
  const drained = latencies;
  latencies = [];
  const cpu = process.cpuUsage();
  return {
    deliveries,
    bytes,
    frames,
    open,
    clients: clients.length,
    closeCodes: { ...closeCodes },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    latencies: drained,
  };
}

/** Reconnects with `since` and checks that each client gets exactly the seqs it missed. */
async function resume(request: { port: number; clients: ResumeSpec[]; concurrency: number }) {
  const p = use('switchboard');
  const started = performance.now();
  const results = { caughtUp: 0, exact: 0, failed: 0, firstError: null as string | null, catchUpMillis: [] as number[] };
  await inBatches(request.clients, request.concurrency, async (spec) => {
    const seqs: number[] = [];
    try {
      const ws = await p.connect(request.port, spec.user, spec.channel, {
        since: spec.since,
        presence: spec.presence,
        onText: (text) => {
          if (!text.startsWith('{"type":"event"')) return;
          const event = JSON.parse(text) as { channel: string; seq: number };
          if (event.channel === spec.channel) seqs.push(event.seq);
        },
      });
      results.catchUpMillis.push(performance.now() - started);
      results.caughtUp++;
      const exact = seqs.length === spec.last - spec.since && seqs.every((seq, k) => seq === spec.since + 1 + k);
      if (exact) results.exact++;
      else results.firstError ??= `got ${seqs.length} events (${seqs[0]}..${seqs.at(-1)}), expected ${spec.since + 1}..${spec.last}`;
      clients.push({ ws, probe: false, channel: spec.channel });
    } catch (error) {
      results.failed++;
      results.firstError ??= (error as Error).message;
    }
  });
  return { ...results, millis: performance.now() - started };
}

function closeAll(): { closed: number } {
  const count = clients.length + publishers.length;
  for (const client of clients) client.ws.close();
  for (const publisher of publishers) publisher.ws.close();
  clients.length = 0;
  publishers.length = 0;
  return { closed: count };
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'connect':
      return connect(request);
    case 'openPublishers':
      return openPublishers(request);
    case 'publish':
      return publish(request);
    case 'stats':
      return stats();
    case 'resume':
      return resume(request);
    case 'closeAll':
      return closeAll();
    case 'exit':
      closeAll();
      setTimeout(() => process.exit(0), 200);
      return null;
  }
}

process.on('message', (message: { id: number; request: WorkerRequest }) => {
  handle(message.request).then(
    (result) => process.send!({ id: message.id, ok: true, result }),
    (error: unknown) => process.send!({ id: message.id, ok: false, error: (error as Error).stack ?? String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
