import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatResult } from '../scenarios/chat.js';
import type { ConnectRateResult } from '../scenarios/connect-rate.js';
import type { ConnectionsResult } from '../scenarios/connections.js';
import type { DurableResult } from '../scenarios/durable.js';
import type { FanoutServerResult } from '../scenarios/fanout.js';
import type { PresenceSetupResult } from '../scenarios/presence-setup.js';
import type { ResumeResult } from '../scenarios/resume.js';
import type { MachineInfo } from './machine.js';
import type { Pinning } from './pinning.js';
import type { StepResult } from './measure.js';
import { median, round } from './stats.js';

export const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

export interface RunRecord {
  readonly scenario: string;
  readonly commit: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly machine: MachineInfo & { readonly loadAverageAtEnd: readonly number[] };
  /** Absent in results from before pinning: nothing was pinned. */
  readonly pinning?: Pinning;
  readonly options: Record<string, unknown>;
  readonly results: unknown;
}

/** Writes `<scenario>-<time>.json` and `.md` to bench/results/ and returns their paths. */
export function writeResults(record: RunRecord): string[] {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = record.startedAt.replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
  const base = join(RESULTS, `${record.scenario}-${stamp}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(`${base}.md`, renderMarkdown(record));
  const files = [`${base}.json`, `${base}.md`];
  const svg = renderSvg(record);
  if (svg) {
    writeFileSync(`${base}.svg`, svg);
    files.push(`${base}.svg`);
  }
  return files;
}

export function renderMarkdown(record: RunRecord): string {
  const m = record.machine;
  const lines = [
    `# ${record.scenario}: ${record.startedAt}`,
    '',
    `\`${record.command}\` at commit ${record.commit}`,
    '',
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}; load average ${m.loadAverage.join(' ')} at start, ${m.loadAverageAtEnd.join(' ')} at the end.`,
    '',
    describePinning(record.pinning),
    '',
    ...renderTables(record),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

export function renderTables(record: RunRecord): string[] {
  switch (record.scenario) {
    case 'fanout':
      return fanoutTable(record.results as FanoutServerResult[]);
    case 'durable':
      return durableTable(record.results as DurableResult[]);
    case 'connections':
      return connectionsTable(record.results as ConnectionsResult[]);
    case 'chat':
      return chatTable(record.results as ChatResult[]);
    case 'resume':
      return resumeTable(record.results as ResumeResult);
    case 'connect':
      return connectRateTable(record.results as ConnectRateResult[]);
    case 'presence':
      return presenceTable(record.results as PresenceSetupResult[]);
    default:
      return ['```json', JSON.stringify(record.results, null, 2), '```'];
  }
}

const ms = (value: number | null) => (value === null ? '-' : String(value));
/** Older result files lack some columns. */
const pct = (value: number | undefined) => (value === undefined ? '-' : `${value}%`);

function fanoutTable(results: FanoutServerResult[]): string[] {
  const out = [
    '| server | subscribers | step | publishes/s | deliveries/s | p50 ms | p99 ms | p999 ms | complete | server CPU | client CPU | server RSS MiB | bytes/delivery | TCP retransmits |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const result of results) {
    if (result.error) out.push(`| ${serverLabel(result)} | ${result.subscribers} | failed: ${result.error} | | | | | | | | | | | |`);
    if (result.skipped) out.push(`| ${serverLabel(result)} | ${result.subscribers} | skipped: ${result.skipped} | | | | | | | | | | | |`);
    for (const step of result.steps) out.push(stepRow(result, step));
  }
  out.push('', '| server | subscribers | connect/s | setup settled (ms) | best sustained deliveries/s (p99 within bound) |', '| --- | ---: | ---: | ---: | ---: |');
  for (const result of results) {
    if (result.skipped) continue;
    const best = result.bestSustained;
    out.push(
      `| ${serverLabel(result)} | ${result.subscribers} | ${result.connect.perSecond} | ${result.settleMillis} | ${best ? `${best.deliveriesPerSec} (at ${best.label}, p99 ${best.latency.p99} ms)` : '-'} |`,
    );
  }
  return out;
}

function durableTable(results: DurableResult[]): string[] {
  const out = ['| store | publishers x window | acked publishes/s | ack p50 ms | ack p99 ms | server CPU | refused |', '| --- | --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const result of results) {
    if (result.skipped || result.error) out.push(`| ${result.store} | ${result.skipped ? `skipped: ${result.skipped}` : `failed: ${result.error}`} | | | | | |`);
    for (const step of result.steps) {
      const refused = Object.values(step.refusals).reduce((n, v) => n + v, 0) + step.unanswered;
      out.push(`| ${result.store} | ${step.publishers} x ${step.window} | ${step.ackedPerSec} | ${ms(step.ackLatency.p50)} | ${ms(step.ackLatency.p99)} | ${step.serverCpuPercent}% | ${refused} |`);
    }
  }
  return out;
}

function connectionsTable(results: ConnectionsResult[]): string[] {
  const out = ['| server | connections | connected | connects/s | RSS before MiB | RSS after MiB | KiB per connection |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of results) {
    out.push(`| ${r.server} | ${r.connections} | ${r.connected}${r.error ? ` (failed: ${r.error})` : ''} | ${r.connectPerSec} | ${r.rssBeforeMiB} | ${r.rssAfterMiB} | ${r.kibPerConnection} |`);
  }
  return out;
}

function chatTable(results: ChatResult[]): string[] {
  const out = [
    '| server | users | channels | connects/s | publishes/s | deliveries/s | p50 ms | p99 ms | p999 ms | complete | server CPU | client CPU | server RSS MiB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    out.push(
      `| ${r.server}${r.error ? ` (failed: ${r.error})` : ''} | ${r.connected}/${r.connections} | ${r.channels} | ${r.connectPerSec} | ${r.publishesPerSec} | ${r.deliveriesPerSec} | ${ms(r.latency.p50)} | ${ms(r.latency.p99)} | ${ms(r.latency.p999)} | ${(r.completeness * 100).toFixed(1)}% | ${r.serverCpuPercent}% | ${pct(r.clientCpuPercent)} | ${r.serverRssMiB} |`,
    );
  }
  return out;
}

export function describePinning(pinning: Pinning | undefined): string {
  if (!pinning) return 'Cores: not pinned (before pinning existed).';
  return pinning.unpinned ? `Cores: not pinned (${pinning.unpinned}).` : `Cores: servers pinned to ${pinning.server}, load generator to ${pinning.load} (taskset).`;
}

function connectRateTable(results: ConnectRateResult[]): string[] {
  // Results written before rounds existed have no `round`: they had one.
  const rounds = Math.max(...results.map((r) => r.round ?? 1));
  // Results written before warm-up existed have no `warmup`: their servers were cold.
  const warmup = results[0]?.warmup ?? 0;
  const postgres = results.some((r) => r.store === 'postgres');
  const out = [
    warmup > 0
      ? `Each server took ${warmup} warm-up connects (other users, closed again) before its storms${results.some((r) => r.users === 'restarted') ? ', and again after its restart' : ''}.`
      : 'Each server was measured cold: its storms were the first connects it took.',
    `Switchboard stored on ${postgres ? 'PostgreSQL (a scratch database per server run)' : 'SQLite (a fresh file per server run)'}${results.some((r) => r.users === 'restarted') ? '; a restarted server kept its database' : ''}.`,
    '',
    `|${rounds > 1 ? ' round |' : ''} server | auth | users | connections | connected | connects/s | vs raw ws | server CPU µs per connect | server busy | load generator CPU µs per connect | load generator's cores busy | connect p50 / p99 ms |`,
    `|${rounds > 1 ? ' ---: |' : ''} --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |`,
  ];
  for (const r of results) {
    const failed = r.error ? ` (failed: ${r.error})` : r.firstError ? ` (first error: ${r.firstError})` : '';
    // Results written before the returning storm existed have no `users`: they were all new.
    out.push(`|${rounds > 1 ? ` ${r.round} |` : ''} ${r.server} | ${r.auth ?? '-'} | ${r.users ?? 'new'} | ${r.connections} | ${r.connected}${failed} | ${r.connectPerSec} | ${r.versusWs === null ? '-' : `${r.versusWs}x`} | ${r.serverCpuMicrosPerConnect} | ${pct(r.serverBusyPercent)} | ${r.loadCpuMicrosPerConnect ?? '-'} | ${pct(r.loadBusyPercent ?? undefined)} | ${latencyPair(r)} |`);
  }
  if (rounds > 1) out.push('', ...connectRateMedians(results, rounds));
  return out;
}

/** Per server, auth and users: the median over the rounds, and the range of the ratio to each round's raw ws. */
function connectRateMedians(results: ConnectRateResult[], rounds: number): string[] {
  const out = [
    `Medians over ${rounds} rounds (each ratio against the raw ws run of its own round):`,
    '',
    '| server | auth | users | connects/s | vs raw ws | vs raw ws, range | server CPU µs per connect | server busy | load generator\'s cores busy | connect p50 ms |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const groups = new Map<string, ConnectRateResult[]>();
  for (const r of results) {
    if (r.connected === 0) continue;
    const key = `${r.server} | ${r.auth ?? '-'} | ${r.users ?? 'new'}`;
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  for (const [key, group] of groups) {
    const ratios = group.flatMap((r) => (r.versusWs === null ? [] : [r.versusWs]));
    const versus = ratios.length === 0 ? '-' : `${median(ratios, 2)}x`;
    const range = ratios.length === 0 ? '-' : `${Math.min(...ratios)}–${Math.max(...ratios)}x`;
    const busy = (values: (number | null | undefined)[]) => {
      const middle = medianOf(values, 0);
      return middle === '-' ? middle : `${middle}%`;
    };
    out.push(
      `| ${key} | ${median(group.map((r) => r.connectPerSec), 0)} | ${versus} | ${range} | ${median(group.map((r) => r.serverCpuMicrosPerConnect), 0)} | ` +
        `${busy(group.map((r) => r.serverBusyPercent))} | ${busy(group.map((r) => r.loadBusyPercent))} | ${medianOf(group.map((r) => r.latencyMillis?.p50), 1)} |`,
    );
  }
  return out;
}

/** The median of the values known (runs from before a figure existed lack it), or '-'. */
function medianOf(values: (number | null | undefined)[], digits: number): string {
  const known = values.filter((v): v is number => typeof v === 'number');
  return known.length === 0 ? '-' : String(median(known, digits));
}

/** A connect's p50 / p99 time to ready; '-' for runs from before it was measured. */
function latencyPair(r: ConnectRateResult): string {
  const latency = r.latencyMillis;
  return latency && latency.p50 !== null ? `${round(latency.p50, 1)} / ${round(latency.p99 ?? 0, 1)}` : '-';
}

function presenceTable(results: PresenceSetupResult[]): string[] {
  const out = ['| presence | subscribers | subscribed | connect ms | settled ms | frames | frames per subscriber | frames / subscribers² |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of results) {
    out.push(`| ${r.presence ? 'on' : 'off'} | ${r.subscribers} | ${r.connected}${r.error ? ` (failed: ${r.error})` : ''} | ${r.connectMillis} | ${r.settledMillis} | ${r.frames} | ${r.framesPerSubscriber} | ${r.perSubscriberSquared} |`);
  }
  return out;
}

function resumeTable(r: ResumeResult): string[] {
  return [
    '| presence | subscribers | missed | restart ms | all caught up ms | per client p50 / p99 ms | caught up | exactly what they missed | failed |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    `| ${r.presence ? 'on' : 'off'} | ${r.subscribers} | ${r.missed} | ${r.restartMillis} | ${r.allCaughtUpMillis} | ${ms(r.perClientCaughtUp.p50)} / ${ms(r.perClientCaughtUp.p99)} | ${r.caughtUp} | ${r.exact} | ${r.failed}${r.firstError ? ` (${r.firstError})` : ''} |`,
  ];
}

/** `socketio, 2 nodes` for a cluster; the bare name for one process; a Switchboard channel's retention when not durable. */
function serverLabel(result: FanoutServerResult): string {
  const name = result.retention && result.retention !== 'durable' ? `${result.server} (${result.retention})` : result.server;
  return (result.nodes ?? 1) > 1 ? `${name}, ${result.nodes} nodes` : name;
}

/** ` (a + b)`: a cluster's figure per node, node 1 first; nothing for one process. */
export function byNode(values: readonly number[] | undefined, unit = ''): string {
  return values && values.length > 1 ? ` (${values.map((v) => `${v}${unit}`).join(' + ')})` : '';
}

function stepRow(result: FanoutServerResult, step: StepResult): string {
  return `| ${serverLabel(result)} | ${result.subscribers} | ${step.label} | ${step.publishesPerSec} | ${step.deliveriesPerSec} | ${ms(step.latency.p50)} | ${ms(step.latency.p99)} | ${ms(step.latency.p999)} | ${(step.completeness * 100).toFixed(1)}% | ${step.serverCpuPercent}%${byNode(step.serverCpuPercentByNode, '%')} | ${pct(step.clientCpuPercent)} + ${pct(step.publisherCpuPercent)} | ${step.serverRssMiB}${byNode(step.serverRssMiBByNode)} | ${step.bytesPerDelivery} | ${step.tcpRetransmits ?? '-'} |`;
}

/** A bar chart of the best sustained deliveries/s per server (fanout only). */
function renderSvg(record: RunRecord): string | null {
  if (record.scenario !== 'fanout') return null;
  const results = record.results as FanoutServerResult[];
  const bars = results.filter((r) => !r.skipped).map((r) => ({
    label: `${serverLabel(r)} (${r.subscribers} subs)`,
    value: r.bestSustained?.deliveriesPerSec ?? Math.max(0, ...r.steps.map((s) => s.deliveriesPerSec)),
    sustained: r.bestSustained !== null,
  }));
  if (bars.length === 0) return null;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const width = 640;
  const rowHeight = 36;
  const left = 200;
  const height = 50 + bars.length * rowHeight;
  const rows = bars.map((bar, k) => {
    const y = 40 + k * rowHeight;
    const w = Math.round(((width - left - 120) * bar.value) / max);
    return (
      `<text x="${left - 8}" y="${y + 18}" text-anchor="end">${bar.label}</text>` +
      `<rect x="${left}" y="${y}" width="${w}" height="24" fill="${bar.sustained ? '#3b82f6' : '#9ca3af'}"/>` +
      `<text x="${left + w + 6}" y="${y + 18}">${bar.value.toLocaleString('en-US')}/s</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
<text x="10" y="22" font-weight="bold">Fan-out: deliveries per second (${record.startedAt}; grey: no rate step held p99 within bound, best window figure shown)</text>
${rows.join('\n')}
</svg>
`;
}
