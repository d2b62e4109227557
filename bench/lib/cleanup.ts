/**
 * Clean-up that needs I/O (a PostgreSQL database to drop, Redis keys to delete) and that an
 * interrupted run still owes. Process 'exit' handlers cannot wait, so bench/run.ts awaits
 * these on SIGINT, SIGTERM and its watchdog before it exits. Each task is removed again
 * once the run has done it the ordinary way.
 */
const pending = new Set<() => Promise<void>>();

/** Registers `task` for an interrupted run; the returned function unregisters it. */
export function deferCleanup(task: () => Promise<void>): () => void {
  pending.add(task);
  return () => {
    pending.delete(task);
  };
}

/** Runs every task still registered, all at once, for at most `timeoutMs`. */
export async function runDeferredCleanups(timeoutMs = 15_000): Promise<void> {
  const tasks = [...pending];
  pending.clear();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.allSettled(tasks.map((task) => task())), timeout]);
  clearTimeout(timer);
}
