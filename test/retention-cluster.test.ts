import { onTestFinished } from 'vitest';
import { createTestSchema } from './helpers/postgres.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { idempotenceSuite, pruningSuite, RETENTION_NAMESPACES, retentionSuite } from './helpers/retention-suite.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';

/**
 * Retention modes on two nodes over PostgreSQL and Redis: published on one node,
 * subscribed and resumed on the other; `memory` and `none` seqs and rings live in Redis.
 */
describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'retention modes on PostgreSQL and Redis, two nodes', () => {
  const nodes = async () => {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'retention');
    const redis = createRedisPrefix(serviceUrl('TEST_REDIS_URL')!, 'retention');
    onTestFinished(async () => {
      await schema.drop();
      await redis.drop();
    });
    const overrides = { ...RETENTION_NAMESPACES, redisUrl: redis.url, grpcPort: 0 };
    const one = await startTestServer({ databaseUrl: schema.url, overrides });
    const two = await startTestServer({ databaseUrl: schema.url, overrides });
    return [one, two] as const;
  };
  retentionSuite(nodes);
  pruningSuite(nodes);
  idempotenceSuite(nodes);
});
