import { createRedisPrefix } from '../../test/helpers/redis-prefix.js';
import { deferCleanup } from './cleanup.js';

export interface ScratchRedis {
  /** The base URL with `?prefix=`: the nodes given it form one cluster of their own. */
  readonly url: string;
  /** Deletes every key left under the prefix (a node killed hard leaves presence behind). Safe to call twice. */
  drop(): Promise<void>;
}

/**
 * A key and topic prefix of its own on a shared Redis (the tests' helper), the Redis side
 * of a scratch database: dropped by `drop()`, or by an interrupted run on its way out.
 */
export function createScratchRedis(baseUrl: string): ScratchRedis {
  const scratch = createRedisPrefix(baseUrl, 'switchboard-bench');
  let dropped: Promise<void> | null = null;
  const drop = () => (dropped ??= scratch.drop().finally(forget));
  const forget = deferCleanup(drop);
  return { url: scratch.url, drop };
}
