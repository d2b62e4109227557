import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { loadConfig as LoadConfig } from '../../src/config.js';
import type { Delivery } from '../../src/core/delivery.js';
import type { Session, SessionSink } from '../../src/core/session.js';
import type { Principal } from '../../src/core/types.js';
import type { startServer as StartServer } from '../../src/server.js';

export interface InProcessConnectOptions {
  /** Principals per storm. */
  readonly users: number;
  /** Pairs of storms: first connects of new users, then the same users returning. */
  readonly storms: number;
  /** Connects in flight. */
  readonly concurrency: number;
  /** `src` runs TypeScript through tsx; `dist` runs the build (`npm run build` first). */
  readonly build: 'src' | 'dist';
  /**
   * Sessions open through the storms, each following a users list of one user who never
   * connects (a web client's list of people): they get nothing, and should cost nothing.
   */
  readonly watchers?: number;
  /**
   * Every storm user is a member of one public channel beforehand (an organization's
   * #general): its members' connects are what a channel's status traffic costs.
   */
  readonly crowd?: boolean;
}

export interface InProcessStorm {
  readonly kind: 'first' | 'returning';
  /** CPU of the whole process (every thread) per connect, µs. */
  readonly micros: number;
}

export interface InProcessConnects {
  readonly storms: InProcessStorm[];
  /** Frames the modules delivered per connect (contacts, status): none means they did not run. */
  readonly framesPerConnect: number;
}

/** After the last connect: the storm's last round of status writes lands within a linger or two. */
const SETTLE_MS = 60;
/** After the disconnects: their offline writes land before the next storm is counted. */
const QUIET_MS = 300;

/**
 * Connect storms straight through `hub.connect` on one node in this process (a fresh
 * SQLite file, every module attached as `serve` attaches them), each session's frames
 * encoded once as /ws would: what a connect costs the hub and the modules, sockets aside.
 * A storm's CPU runs from its first connect until its status writes settled.
 */
export async function runInProcessConnects(options: InProcessConnectOptions, log: (line: string) => void): Promise<InProcessConnects> {
  const { startServer, loadConfig } = await serverModules(options.build);
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-inprocess-'));
  const server = await startServer(
    loadConfig({
      env: {},
      overrides: {
        host: '127.0.0.1',
        port: 0,
        grpcPort: 0,
        transports: ['ws'],
        databaseUrl: `sqlite:${join(dir, 'bench.db')}`,
        logLevel: 'warn',
        limits: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000, connectionsPerIp: 1_000_000 },
      },
    }),
  );
  let frames = 0;
  /** What /ws does with a frame, short of the socket: encode it once per format. */
  const sink: SessionSink = {
    deliver(delivery: Delivery) {
      delivery.encode('bench-json', (message) => JSON.stringify(message));
      frames++;
    },
  };

  /** Connects `prefix-i` (open auth's principals), `concurrency` at a time, until their writes settle. */
  const storm = async (prefix: string): Promise<{ sessions: Session[]; micros: number }> => {
    const sessions: Session[] = [];
    let next = 0;
    const worker = async () => {
      while (next < options.users) {
        const user = `${prefix}-${next++}`;
        sessions.push(await server.hub.connect(named(user), 'ws', sink));
      }
    };
    const before = process.cpuUsage();
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    await sleep(SETTLE_MS);
    const used = process.cpuUsage(before);
    return { sessions, micros: (used.user + used.system) / options.users };
  };

  const storms: InProcessStorm[] = [];
  let stormFrames = 0;
  try {
    for (let k = 0; k < (options.watchers ?? 0); k++) {
      const principal = named(`watcher-${k}`);
      const session = await server.hub.connect(principal, 'ws', sink);
      const followed = (await server.edge.pipeline.run('list.subscribe', { list: 'users', users: [`away-${k}`] }, { principal, session, wire: 'ws' })) as {
        list?: string;
      };
      if (followed.list !== 'users') throw new Error(`A watcher could not follow a users list: ${JSON.stringify(followed)}`);
    }
    if (options.crowd) {
      const owner = named('crowd-owner');
      await server.hub.createChannel(owner, { id: 'crowd', type: 'public' });
      for (let k = 1; k <= options.storms; k++) {
        for (let i = 0; i < options.users; i++) await server.hub.addMember(owner, 'crowd', `storm-${k}-${i}`);
      }
    }
    // Their own connects' frames (sent once their status settles) are not the storms'.
    await sleep(QUIET_MS);
    frames = 0;
    for (let k = 1; k <= options.storms; k++) {
      for (const kind of ['first', 'returning'] as const) {
        const { sessions, micros } = await storm(`storm-${k}`);
        storms.push({ kind, micros });
        log(`${kind} ${k}: ${micros.toFixed(1)} µs per connect`);
        await Promise.all(sessions.map((session) => server.hub.disconnect(session)));
        await sleep(QUIET_MS);
      }
    }
    // Before the close frames the shutdown sends.
    stormFrames = frames;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { storms, framesPerConnect: stormFrames / (options.users * options.storms * 2) };
}

/** A user as open auth makes them: named by their id. */
function named(user: string): Principal {
  return { kind: 'user', userId: user, name: user, roles: [], nameFillsIn: true };
}

async function serverModules(build: 'src' | 'dist'): Promise<{ startServer: typeof StartServer; loadConfig: typeof LoadConfig }> {
  if (build === 'src') {
    const [{ startServer }, { loadConfig }] = await Promise.all([import('../../src/server.js'), import('../../src/config.js')]);
    return { startServer, loadConfig };
  }
  const built = (path: string) => pathToFileURL(resolve('dist', path)).href;
  const [{ startServer }, { loadConfig }] = (await Promise.all([import(built('src/server.js')), import(built('src/config.js'))])) as [
    { startServer: typeof StartServer },
    { loadConfig: typeof LoadConfig },
  ];
  return { startServer, loadConfig };
}
