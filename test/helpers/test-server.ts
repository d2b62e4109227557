import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { type Config, type DeepPartial, loadConfig } from '../../src/config.js';
import type { Broker } from '../../src/core/broker.js';
import { type RunningServer, startServer } from '../../src/server.js';

export interface TestServer extends RunningServer {
  readonly wsUrl: string;
  readonly databaseUrl: string;
  /** Stops this server and starts another on the same database and port. */
  restart(): Promise<TestServer>;
}

/**
 * A real server on an ephemeral loopback port with its own SQLite file. It is closed
 * (and its directory removed) when the calling test finishes.
 */
export async function startTestServer(
  options: { overrides?: DeepPartial<Config>; databaseUrl?: string; broker?: Broker; port?: number; configFile?: string; now?: () => number } = {},
): Promise<TestServer> {
  // Its own directory always: the SQLite file (unless a database is given) and the files module's.
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const databaseUrl = options.databaseUrl ?? `sqlite:${join(dir, 'test.db')}`;
  const overrides = { ...options.overrides, files: { directory: join(dir, 'files'), ...options.overrides?.files } };
  const server = await boot(databaseUrl, options.port ?? 0, { ...options, overrides });
  const ownedDir = dir;
  onTestFinished(async () => {
    await server.current.close();
    rmSync(ownedDir, { recursive: true, force: true });
  });
  return server.handle;
}

async function boot(
  databaseUrl: string,
  port: number,
  options: { overrides?: DeepPartial<Config>; broker?: Broker; configFile?: string; now?: () => number },
): Promise<{ current: RunningServer; handle: TestServer }> {
  const state = { current: await startOne(databaseUrl, port, options) } as { current: RunningServer; handle: TestServer };
  const handle: TestServer = {
    get url() {
      return state.current.url;
    },
    get port() {
      return state.current.port;
    },
    get grpcPort() {
      return state.current.grpcPort;
    },
    get hub() {
      return state.current.hub;
    },
    get store() {
      return state.current.store;
    },
    get edge() {
      return state.current.edge;
    },
    get files() {
      return state.current.files;
    },
    get wsUrl() {
      return `${state.current.url.replace('http', 'ws')}/ws`;
    },
    databaseUrl,
    close: (reason?: string) => state.current.close(reason),
    async restart() {
      const samePort = state.current.port;
      await state.current.close('restart');
      state.current = await startOne(databaseUrl, samePort, options);
      return handle;
    },
  };
  state.handle = handle;
  return state;
}

function startOne(
  databaseUrl: string,
  port: number,
  options: { overrides?: DeepPartial<Config>; broker?: Broker; configFile?: string; now?: () => number },
): Promise<RunningServer> {
  const config = loadConfig({
    file: options.configFile,
    // gRPC on a free port too, so test files running in parallel never collide on 50051.
    overrides: { grpcPort: 0, ...options.overrides, port, databaseUrl, logLevel: 'silent', host: '127.0.0.1' },
  });
  return startServer(config, { broker: options.broker, now: options.now });
}
