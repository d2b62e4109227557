import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTables, RESULTS, type RunRecord } from './report.js';

const DOCS = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
const START = '<!-- latest:start (written by `npm run bench -- docs`) -->';
const END = '<!-- latest:end -->';

/** Which runs replace each other: one scenario, and for fan-out one subscriber count and node count. */
function keyOf(record: RunRecord): string {
  if (record.scenario === 'resume' && (record.results as { presence?: boolean }).presence) return 'resume, presence on';
  if (record.scenario === 'connect' && record.options.postgresUrl) return 'connect, PostgreSQL';
  if (record.scenario !== 'fanout') return record.scenario;
  const nodes = Number(record.options.nodes ?? 1);
  return `fanout, ${String(record.options.subscribers)} subscribers${nodes > 1 ? `, ${nodes} nodes` : ''}`;
}

const ORDER = ['fanout', 'durable', 'connections', 'connect', 'chat', 'resume', 'presence'];

/**
 * Rewrites the "latest figures" part of docs/benchmarks.md from the newest result file of
 * each scenario in bench/results/, so the page always shows what was last measured.
 */
export function updateDocs(): string[] {
  const latest = new Map<string, { record: RunRecord; file: string }>();
  for (const file of readdirSync(RESULTS).filter((name) => name.endsWith('.json')).sort()) {
    const record = JSON.parse(readFileSync(join(RESULTS, file), 'utf8')) as RunRecord;
    const key = keyOf(record);
    const current = latest.get(key);
    if (!current || current.record.startedAt < record.startedAt) latest.set(key, { record, file });
  }
  const entries = [...latest.entries()].sort(([a, x], [b, y]) => {
    const byScenario = ORDER.indexOf(x.record.scenario) - ORDER.indexOf(y.record.scenario);
    if (byScenario !== 0) return byScenario;
    return Number(x.record.options.subscribers ?? 0) - Number(y.record.options.subscribers ?? 0) || a.localeCompare(b);
  });
  const lines: string[] = [START, ''];
  for (const [key, { record, file }] of entries) {
    const when = record.startedAt.replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
    lines.push(
      `### ${key}`,
      '',
      `\`${record.command}\`, ${when}, commit ${record.commit ?? 'unknown'}, load average ${record.machine.loadAverage.join(' ')} at start ` +
        `([full results](../bench/results/${file.replace(/\.json$/, '.md')}))`,
      '',
      ...renderTables(record),
      '',
    );
  }
  lines.push(END);
  const docs = readFileSync(DOCS, 'utf8');
  const from = docs.indexOf(START);
  const to = docs.indexOf(END);
  const next = from >= 0 && to > from ? docs.slice(0, from) + lines.join('\n') + docs.slice(to + END.length) : `${docs.trimEnd()}\n\n${lines.join('\n')}\n`;
  writeFileSync(DOCS, next);
  return entries.map(([key]) => key);
}
