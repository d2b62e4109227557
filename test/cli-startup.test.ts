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

/** Runs `switchboard serve` with these flags and environment; resolves with its exit code and stderr. */
async function serve(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'serve', '--host', '127.0.0.1', '--database', `sqlite:${join(dir, 'db.sqlite')}`, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', PORT: '', GRPC_PORT: '', GRPC_VERBOSITY: undefined, SWITCHBOARD_LOG_LEVEL: 'error', ...env } },
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
  return { code, stderr };
}

describe('switchboard serve', () => {
  it('exits with 1 and one sentence when its HTTP port is taken, instead of idling', async () => {
    const port = await occupiedPort();
    const { code, stderr } = await serve(['--port', String(port), '--transports', 'ws,http']);
    expect(code).toBe(1);
    expect(stderr).toBe(
      `switchboard: Cannot listen on 127.0.0.1:${port} for HTTP: the port is in use; stop what holds it or choose another port with --port (PORT).\n`,
    );
  });

  it('gives the same one line when the gRPC port is taken, and nothing from grpc-js before it', async () => {
    const port = await occupiedPort();
    const { code, stderr } = await serve(['--port', '0', '--transports', 'ws,http,grpc'], { GRPC_PORT: String(port) });
    expect(code).toBe(1);
    expect(stderr).toBe(
      `switchboard: Cannot listen on 127.0.0.1:${port} for gRPC: the port is in use; stop what holds it or choose another port with GRPC_PORT, or leave grpc out of --transports.\n`,
    );
  });

  it('names every bad setting, one line each, before starting anything', async () => {
    const { code, stderr } = await serve(['--port', 'eighty', '--transports', 'ws,carrier-pigeon']);
    expect(code).toBe(1);
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^switchboard: Invalid setting port: /),
      expect.stringMatching(/^switchboard: Invalid setting transports\.1: /),
    ]);
  });
});
