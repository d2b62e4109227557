import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * A key and topic prefix of its own on a shared Redis, the Redis counterpart of a fresh
 * PostgreSQL schema: `url` carries it (`?prefix=`), `drop()` deletes whatever was left
 * under it (nodes killed with -9 leave presence behind by design).
 */
export function createRedisPrefix(baseUrl: string, label = 'test'): { prefix: string; url: string; drop(): Promise<void> } {
  const prefix = `${label}-${randomBytes(4).toString('hex')}:`;
  const url = new URL(baseUrl);
  url.searchParams.set('prefix', prefix);
  return { prefix, url: url.toString(), drop: () => dropRedisPrefix(baseUrl, prefix) };
}

export async function dropRedisPrefix(baseUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(baseUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
