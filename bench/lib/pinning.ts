import { spawnSync } from 'node:child_process';

/**
 * Where the processes of a run may execute. With two cores or more, the servers under
 * test get core 0 and the load generator (this process and every worker it forks, which
 * inherit its mask) the rest, so neither steals the other's core and a server's figure is
 * what one core does. Without `taskset` or with one core nothing is pinned, and the
 * record says why: server and load generator then share the cores, which flatters a
 * server that uses idle time on the second core and penalises one starved by the load.
 */
export interface Pinning {
  /** `taskset -c` list for servers under test; null when not pinned. */
  readonly server: string | null;
  /** `taskset -c` list for the load generator; null when not pinned. */
  readonly load: string | null;
  /** Why nothing is pinned (null when pinned). */
  readonly unpinned: string | null;
}

export function planPinning(options: { readonly cores: number; readonly taskset: boolean; readonly requested: boolean }): Pinning {
  const none = (unpinned: string): Pinning => ({ server: null, load: null, unpinned });
  if (!options.requested) return none('--pin off');
  if (options.cores < 2) return none(`${options.cores} core: server and load generator share it`);
  if (!options.taskset) return none('taskset not found (util-linux): server and load generator share the cores');
  return { server: '0', load: options.cores === 2 ? '1' : `1-${options.cores - 1}`, unpinned: null };
}

export function tasksetAvailable(): boolean {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Moves this process (every thread) onto the load generator's cores; children forked later inherit it. */
export function pinLoadGenerator(pinning: Pinning): void {
  if (!pinning.load) return;
  const result = spawnSync('taskset', ['-a', '-p', '-c', pinning.load, String(process.pid)], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`taskset could not pin the load generator to cores ${pinning.load}.`);
}

/** The servers' core list, set once per run by the orchestrator (null: not pinned). */
let serverCores: string | null = null;

export function pinServersTo(cores: string | null): void {
  serverCores = cores;
}

/** The command line that starts a server under test: through `taskset -c` when pinned. */
export function pinnedCommand(executable: string, args: readonly string[]): { command: string; args: string[] } {
  return serverCores === null ? { command: executable, args: [...args] } : { command: 'taskset', args: ['-c', serverCores, executable, ...args] };
}

/** The cores a `taskset -c` list names ("1", "1-3", "1,3-4"). */
export function coresOf(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [first, last = first] = part.split('-').map(Number);
    return Array.from({ length: last! - first! + 1 }, (_, k) => first! + k);
  });
}
