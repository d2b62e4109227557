import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function occupiedPort(): Promise<number> {
  const blocker: Server = createServer();
  cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
  return new Promise((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
}

describe('switchboard serve', () => {
  it('exits with 1 and one sentence when its port is taken, instead of idling', async () => {
    const port = await occupiedPort();
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'serve', '--host', '127.0.0.1', '--port', String(port), '--transports', 'ws,http', '--database', `sqlite:${join(dir, 'db.sqlite')}`],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', PORT: '' } },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still running after 20 s; stderr: ${stderr}`)), 20_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(code).toBe(1);
    expect(stderr).toContain(`Cannot listen: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
  });
});
