import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerRequest } from './worker-protocol.js';

const WORKER = fileURLToPath(new URL('../worker.ts', import.meta.url));

/** One forked load-generator process with request/reply over IPC. */
export class Worker {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 1;

  constructor(readonly index: number) {
    this.#child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`worker ${index}: ${message.error}`));
    });
    this.#child.on('exit', (code) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`worker ${index} exited with ${code}`));
      this.#pending.clear();
    });
  }

  call<T>(request: WorkerRequest): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.send({ id, request });
    });
  }

  async exit(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    await this.call({ op: 'exit' }).catch(() => {});
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** Several workers; `spread` deals a list of items out to them round-robin. */
export class WorkerPool {
  readonly workers: Worker[];

  constructor(count: number) {
    this.workers = Array.from({ length: count }, (_, index) => new Worker(index));
  }

  all<T>(request: WorkerRequest | ((worker: Worker) => WorkerRequest)): Promise<T[]> {
    return Promise.all(this.workers.map((worker) => worker.call<T>(typeof request === 'function' ? request(worker) : request)));
  }

  static spread<T>(items: readonly T[], parts: number): T[][] {
    const out: T[][] = Array.from({ length: parts }, () => []);
    items.forEach((item, k) => out[k % parts]!.push(item));
    return out;
  }

  async exit(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.exit()));
  }
}
