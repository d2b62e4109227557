import type { ServerMeter } from './measure.js';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.js';
import { createScratchRedis, type ScratchRedis } from './scratch-redis.js';
import { startServerProcess, type ServerUnderTest } from './server-process.js';
import type { ServerKind } from './targets.js';

export interface GroupOptions {
  readonly kind: ServerKind;
  readonly build: 'src' | 'dist';
  /** 1: one process as every scenario runs it (Switchboard on a scratch SQLite file). */
  readonly nodes: number;
  /** Several Switchboard nodes: the PostgreSQL server a scratch database is made on. */
  readonly postgresUrl: string | null;
  /** Several nodes: the Redis they share, under a scratch prefix. */
  readonly redisUrl: string;
}

/** One server kind as one process or as a cluster of N, measured as a whole. */
export interface ServerGroup extends ServerMeter {
  readonly kind: ServerKind;
  /** Node 1's port first. */
  readonly ports: readonly number[];
  readonly nodes: readonly ServerUnderTest[];
  /** What ran, URLs elided (they may carry passwords). */
  readonly command: string;
  /** Stops every node, then drops the scratch database and Redis prefix. */
  dispose(): Promise<void>;
}

/** Why `kind` cannot run as `nodes` nodes, or null when it can. */
export function multiNodeObstacle(kind: ServerKind, nodes: number, postgresUrl: string | null): string | null {
  if (nodes < 2) return null;
  if (kind === 'ws') return 'the raw ws peer has no multi-node mode (it has no broker)';
  if (kind === 'switchboard' && !postgresUrl) return 'several Switchboard nodes share a PostgreSQL database: set TEST_DATABASE_URL or DATABASE_URL';
  return null;
}

export async function startServerGroup(options: GroupOptions): Promise<ServerGroup> {
  const { kind, build } = options;
  const obstacle = multiNodeObstacle(kind, options.nodes, options.postgresUrl);
  if (obstacle) throw new Error(obstacle);
  const nodes: ServerUnderTest[] = [];
  let database: ScratchDatabase | null = null;
  let redis: ScratchRedis | null = null;
  const dispose = async () => {
    await Promise.all(nodes.map((node) => node.dispose()));
    await Promise.all([database?.drop(), redis?.drop()]);
  };
  try {
    if (options.nodes === 1) {
      nodes.push(await startServerProcess({ kind, build }));
    } else {
      redis = createScratchRedis(options.redisUrl);
      if (kind === 'switchboard') database = await createScratchDatabase(options.postgresUrl!);
      const node = { kind, build, databaseUrl: database?.url, redisUrl: redis.url };
      // One at a time: node 1 migrates the fresh database before the others open it.
      for (let n = 0; n < options.nodes; n++) nodes.push(await startServerProcess(node));
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    kind,
    ports: nodes.map((node) => node.port),
    nodes,
    command: nodes.map((node) => node.command.replace(/\b(postgres|postgresql|redis|rediss):\/\/\S+/g, '$1://…')).join(' & '),
    cpuSeconds: () => nodes.reduce((total, node) => total + node.cpuSeconds(), 0),
    rssBytes: () => nodes.reduce((total, node) => total + node.rssBytes(), 0),
    dispose,
  };
}
