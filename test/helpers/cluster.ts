import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { createTestSchema } from './postgres.js';
import { freePort } from './private-redis.js';
import { createRedisPrefix } from './redis-prefix.js';
import { serviceUrl } from './services.js';
import { Waiters } from './waiters.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface NodeOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Settings for the node's config file (limits, ...). */
  readonly config?: Record<string, unknown>;
}

/**
 * One Switchboard node in its own process (`node --import tsx src/cli.ts serve`) on a
 * free loopback port, as an operator would run it. `kill()` is kill -9.
 */
export class NodeProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #output: string[] = [];
  #exited: Promise<void>;

  private constructor(port: number, child: ChildProcess, dir: string) {
    this.port = port;
    this.#child = child;
    this.#dir = dir;
    const keep = (chunk: Buffer) => {
      this.#output.push(...String(chunk).split('\n').filter(Boolean));
      if (this.#output.length > 200) this.#output.splice(0, this.#output.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(options: NodeOptions): Promise<NodeProcess> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-node-'));
    const configFile = join(dir, 'switchboard.json');
    // The node's files under its own directory, never the checkout's ./data.
    writeFileSync(configFile, JSON.stringify({ files: { directory: join(dir, 'files') }, ...options.config }));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli.ts',
        'serve',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--database',
        options.databaseUrl,
        '--redis',
        options.redisUrl,
        '--config',
        configFile,
        // What the tests speak; other transports (gRPC's fixed port) would collide between nodes.
        '--transports',
        'ws,http',
      ],
      { cwd: ROOT, env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const node = new NodeProcess(port, child, dir);
    try {
      await node.waitReady(30_000);
    } catch (error) {
      await node.kill();
      throw error;
    }
    return node;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** The node's recent log lines, for failure messages. */
  get output(): string {
    return this.#output.join('\n');
  }

  async readyStatus(): Promise<number> {
    try {
      const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      return response.status;
    } catch {
      return 0;
    }
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.readyStatus()) !== 200) {
      if (this.#child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`node on port ${this.port} did not become ready:\n${this.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** kill -9: no drain, no goodbye, as a crash or a pulled plug. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** SIGTERM: the node drains and exits. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * `count` node processes on a fresh PostgreSQL schema and Redis prefix (TEST_DATABASE_URL,
 * TEST_REDIS_URL), killed and dropped when the test finishes, after `beforeStop` (close
 * the test's clients).
 */
export async function startNodeCluster(name: string, count: number, beforeStop: () => Promise<void>): Promise<NodeProcess[]> {
  const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, name);
  const redis = createRedisPrefix(serviceUrl('TEST_REDIS_URL')!);
  const nodes: NodeProcess[] = [];
  onTestFinished(async () => {
    await beforeStop();
    await Promise.all(nodes.map((node) => node.kill()));
    await schema.drop();
    await redis.drop();
  });
  // One at a time: the first node migrates the fresh schema.
  for (let n = 0; n < count; n++) nodes.push(await NodeProcess.start({ databaseUrl: schema.url, redisUrl: redis.url }));
  return nodes;
}

interface Reply {
  type: 'ok' | 'error';
  id: number;
  result?: unknown;
  code?: string;
  message?: string;
}

/**
 * A protocol client lean enough for thousands of messages: event seqs per channel in
 * arrays, replies matched by id in a map (WsTestClient rescans every frame per wait).
 */
export class LeanClient {
  readonly socket: WebSocket;
  /** channel -> seqs of the events received, in arrival order. */
  readonly seqs = new Map<string, number[]>();
  readonly texts = new Map<string, string[]>();
  /** Presence frames, in arrival order. */
  readonly presence: { channel: string; action: string; user: string; session: string; at: number }[] = [];
  readonly closed: Promise<number>;
  /** Every event's arrival time (performance.now) by `channel:seq`, when `timed`. */
  readonly arrivals = new Map<string, number>();
  timed = false;
  #nextId = 1;
  #pending = new Map<number, (reply: Reply) => void>();
  readonly #waiters = new Waiters();

  private constructor(url: string) {
    this.socket = new WebSocket(url);
    this.closed = new Promise((resolve) => this.socket.once('close', (code) => {
      for (const settle of this.#pending.values()) settle({ type: 'error', id: 0, code: 'closed' });
      this.#pending.clear();
      this.#waiters.wake();
      resolve(code);
    }));
    this.socket.on('error', () => {});
    this.socket.on('message', (data) => this.#onFrame(JSON.parse(String(data)) as Record<string, unknown>));
  }

  static async connect(wsUrl: string, user: string): Promise<LeanClient> {
    const client = new LeanClient(`${wsUrl}?user=${encodeURIComponent(user)}`);
    await new Promise<void>((resolve, reject) => {
      client.socket.once('open', () => resolve());
      client.socket.once('error', reject);
    });
    return client;
  }

  request(type: string, fields: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.socket.send(JSON.stringify({ type, id, ...fields }));
    });
  }

  async ok<T = unknown>(type: string, fields: Record<string, unknown> = {}): Promise<T> {
    const reply = await this.request(type, fields);
    if (reply.type !== 'ok') throw new Error(`${type} failed: ${reply.code}: ${reply.message}`);
    return reply.result as T;
  }

  seqsOf(channel: string): number[] {
    return this.seqs.get(channel) ?? [];
  }

  lastSeq(channel: string): number {
    return this.seqsOf(channel).at(-1) ?? 0;
  }

  /** Resolves when `check` holds, re-checked on every frame; rejects after the timeout. */
  async waitUntil(check: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    await this.#waiters.until(check, timeoutMs, `timed out after ${timeoutMs} ms waiting for ${what}`);
  }

  close(): Promise<number> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close();
    }
    return this.closed;
  }

  #onFrame(frame: Record<string, unknown>): void {
    if ((frame.type === 'ok' || frame.type === 'error') && typeof frame.id === 'number') {
      const settle = this.#pending.get(frame.id);
      this.#pending.delete(frame.id);
      settle?.(frame as unknown as Reply);
    } else if (frame.type === 'event') {
      const channel = frame.channel as string;
      let list = this.seqs.get(channel);
      if (!list) this.seqs.set(channel, (list = []));
      list.push(frame.seq as number);
      let texts = this.texts.get(channel);
      if (!texts) this.texts.set(channel, (texts = []));
      texts.push(frame.text as string);
      if (this.timed) this.arrivals.set(`${channel}:${frame.seq as number}`, performance.now());
    } else if (frame.type === 'presence') {
      this.presence.push(frame as unknown as LeanClient['presence'][number]);
    } else if (frame.type === 'presenceBatch') {
      // A tick's changes in one frame: kept one change at a time, like single ones.
      const { channel, at } = frame as unknown as { channel: string; at: number };
      for (const change of frame.changes as { action: string; user: string; session: string }[]) this.presence.push({ channel, at, ...change });
    }
    this.#waiters.wake();
  }
}

/** 1, 2, ... n */
export function range(n: number, from = 1): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}
