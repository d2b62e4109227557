import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import type { ChannelEvent } from '../src/core/types.js';
import { EventLog } from '../src/ops/event-log.js';
import { LeanClient } from './helpers/cluster.js';
import { startTestServer } from './helpers/test-server.js';
import { WsTestClient } from './helpers/ws-test-client.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-eventlog-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A real `switchboard serve` process; resolves with its port, read from its JSON log. */
async function serve(args: string[]): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--port', '0', '--transports', 'ws,http', ...args], {
    cwd: ROOT,
    env: { ...process.env, SWITCHBOARD_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += String(chunk)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += String(chunk);
      const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', () => reject(new Error(`server exited:\n${output}`)));
  });
  return { child, port, exited };
}

function readLog(path: string): ChannelEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ChannelEvent);
}

describe('event log', () => {
  it('holds every event of a workload, in order, after a SIGTERM that arrives while publishes flow', async () => {
    const dir = tempDir();
    const logPath = join(dir, 'events.jsonl');
    const configPath = join(dir, 'config.json');
    // A flush interval longer than the test: what is in the file got there at shutdown.
    await import('node:fs/promises').then((fs) => fs.writeFile(configPath, JSON.stringify({ eventLog: { flushMs: 600_000 } })));
    const node = await serve(['--database', `sqlite:${join(dir, 'db.sqlite')}`, '--event-log', logPath, '--config', configPath]);
    const wsUrl = `ws://127.0.0.1:${node.port}/ws`;

    const writers = await Promise.all(['ann', 'ben', 'cat'].map((user) => LeanClient.connect(wsUrl, user)));
    cleanups.push(() => Promise.all(writers.map((w) => w.close())).then(() => {}));
    for (const channel of ['a', 'b']) await writers[0]!.ok('channel.create', { channel, channelType: 'public' });

    const acked: { channel: string; seq: number; text: string }[] = [];
    // A known prefix: messages, an edit and a delete in both channels.
    for (let i = 1; i <= 20; i++) {
      const channel = i % 2 === 0 ? 'a' : 'b';
      const writer = writers[i % 3]!;
      const result = await writer.ok<{ seq: number }>('publish', { channel, text: `m${i}`, cid: `k${i}` });
      acked.push({ channel, seq: result.seq, text: `m${i}` });
    }
    const edit = await writers[2]!.ok<{ seq: number }>('edit', { channel: 'a', seq: 1, text: 'edited' });
    const removal = await writers[1]!.ok<{ seq: number }>('delete', { channel: 'b', seq: 1 });

    // Then publishes flowing from three writers when SIGTERM arrives.
    let stop = false;
    const flows = writers.map(async (writer, w) => {
      for (let i = 0; !stop; i++) {
        const channel = i % 2 === 0 ? 'a' : 'b';
        const reply = await writer.request('publish', { channel, text: `flow-${w}-${i}`, cid: `f${w}-${i}` });
        if (reply.type !== 'ok') return;
        acked.push({ channel, seq: (reply.result as { seq: number }).seq, text: `flow-${w}-${i}` });
      }
    });
    await writers[0]!.waitUntil(() => acked.length >= 60, 10_000, '40 publishes in flight');
    expect(existsSync(logPath)).toBe(true);
    expect(readFileSync(logPath, 'utf8')).toBe(''); // nothing flushed yet
    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    stop = true;
    await Promise.all(flows);

    const events = readLog(logPath);
    // Per channel: seq 1, 2, 3 ... with no gap and no repeat, in file order.
    for (const channel of ['a', 'b']) {
      const seqs = events.filter((e) => e.channel === channel).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
    // Every acknowledged publish is there with its text; the edit and the delete too.
    const byKey = new Map(events.map((e) => [`${e.channel}:${e.seq}`, e]));
    for (const ack of acked) expect(byKey.get(`${ack.channel}:${ack.seq}`)).toMatchObject({ kind: 'message', text: ack.text });
    expect(byKey.get(`a:${edit.seq}`)).toMatchObject({ kind: 'edit', target: 1, text: 'edited' });
    expect(byKey.get(`b:${removal.seq}`)).toMatchObject({ kind: 'delete', target: 1 });
    // Nothing the writers were not told about, except publishes stored as the node went down (ack lost).
    expect(events.length).toBeGreaterThanOrEqual(acked.length + 2);
    expect(events.length - (acked.length + 2)).toBeLessThanOrEqual(3);
  });

  it('rotates by size: the rotated files and the current one hold every event once, in order', async () => {
    const dir = tempDir();
    const path = join(dir, 'events.jsonl');
    const log = await EventLog.open({ path, flushMs: 600_000, maxBytes: 2048, keep: 10 }, silentLogger);
    for (let seq = 1; seq <= 60; seq++) {
      log.append({
        channel: 'r',
        seq,
        kind: 'message',
        id: `id-${seq}`,
        author: 'u',
        text: `message number ${seq}`,
        data: null,
        cid: null,
        replyTo: null,
        target: null,
        createdAt: seq,
        editedAt: null,
        deletedAt: null,
      });
      if (seq % 5 === 0) await log.flush();
    }
    await log.close();
    const files = [...Array.from({ length: 10 }, (_, i) => `${path}.${10 - i}`), path].filter((file) => existsSync(file));
    expect(files.length).toBeGreaterThan(2);
    for (const file of files) expect(readFileSync(file).length).toBeLessThanOrEqual(2048);
    expect(files.flatMap(readLog).map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });
});

describe('event log kinds', () => {
  /** A server writing `kinds` to a fresh file; the lines are read after a restart (close flushes and writes node.close). */
  async function run(kinds: ('message' | 'presence' | 'lifecycle')[] | undefined): Promise<Record<string, unknown>[]> {
    const path = join(tempDir(), 'events.jsonl');
    const server = await startTestServer({ overrides: { eventLog: { path, flushMs: 50, ...(kinds && { kinds }) } } });
    const watcher = await WsTestClient.connect(server.wsUrl, 'watcher');
    const ann = await WsTestClient.connect(server.wsUrl, 'ann');
    cleanups.push(async () => {
      await watcher.close();
      await ann.close();
    });
    await watcher.ok('channel.create', { channel: 'kinds-room', channelType: 'public' });
    await watcher.ok('subscribe', { channel: 'kinds-room' });
    await ann.ok('subscribe', { channel: 'kinds-room' });
    await ann.ok('publish', { channel: 'kinds-room', text: 'hello' });
    await ann.ok('unsubscribe', { channel: 'kinds-room' });
    // The leave reached the watcher: presence lines are buffered by then.
    await watcher.waitUntil(() => watcher.frames.some((f) => f.type === 'presence' && f.user === 'ann' && f.action === 'leave'));
    const deleted = await fetch(`${server.url}/api/channels/kinds-room`, { method: 'DELETE', headers: { 'x-switchboard-user': 'watcher' } });
    expect(deleted.status).toBe(204);
    await server.restart();
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('writes only messages by default, as before kinds existed', async () => {
    const lines = await run(undefined);
    expect(lines.map((line) => [line.kind, line.text])).toEqual([['message', 'hello']]);
  });

  it('writes presence changes and lifecycle events, each with an id and a time, when chosen', async () => {
    const lines = await run(['presence', 'lifecycle']);
    expect(lines.some((line) => line.kind === 'message')).toBe(false);
    for (const line of lines) expect(line).toMatchObject({ id: expect.any(String), at: expect.any(Number) });
    expect(new Set(lines.map((line) => line.id)).size).toBe(lines.length);
    const presence = lines.filter((line) => line.type === 'presence' && line.channel === 'kinds-room');
    // The watcher leaves too as the node closes (or its channel goes).
    expect(presence.map((line) => [line.user, line.action])).toEqual([
      ['watcher', 'join'],
      ['ann', 'join'],
      ['ann', 'leave'],
      ['watcher', 'leave'],
    ]);
    // (The restarted node's own start may not be flushed yet when the file is read.)
    const lifecycle = lines.filter((line) => line.type !== 'presence').map((line) => [line.type, line.channel ?? null]);
    expect(lifecycle.slice(0, 4)).toEqual([
      ['node.start', null],
      ['channel.created', 'kinds-room'],
      ['channel.deleted', 'kinds-room'],
      ['node.close', null],
    ]);
  });
});
