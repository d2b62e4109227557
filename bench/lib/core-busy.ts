import { readFileSync } from 'node:fs';

/**
 * How busy some cores were since the call, from the kernel's per-core counters (Linux):
 * the time they ran anything, interrupts included (loopback TCP is processed in softirqs
 * on the sending and receiving cores), over the time that passed. Null without
 * /proc/stat. Time the hypervisor stole counts as neither.
 *
 * @example
 *   const busy = coreBusySince([1]);
 *   await storm();
 *   busy(); // 0.93: core 1 was the limit
 */
export function coreBusySince(cores: readonly number[]): () => number | null {
  const start = readCores(cores);
  return () => {
    const end = readCores(cores);
    if (!start || !end) return null;
    const total = end.total - start.total;
    return total > 0 ? (end.busy - start.busy) / total : null;
  };
}

function readCores(cores: readonly number[]): { busy: number; total: number } | null {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  let busy = 0;
  let total = 0;
  for (const core of cores) {
    const line = text.split('\n').find((l) => l.startsWith(`cpu${core} `));
    if (!line) return null;
    // user nice system idle iowait irq softirq steal ...
    const [user, nice, system, idle, iowait, irq, softirq] = line.trim().split(/\s+/).slice(1, 8).map(Number) as number[];
    const ran = user! + nice! + system! + irq! + softirq!;
    busy += ran;
    total += ran + idle! + iowait!;
  }
  return { busy, total };
}
