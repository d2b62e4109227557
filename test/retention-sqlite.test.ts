import { describe } from 'vitest';
import { idempotenceSuite, pruningSuite, RETENTION_NAMESPACES, retentionSuite } from './helpers/retention-suite.js';
import { startTestServer } from './helpers/test-server.js';

/** Retention modes on one node: SQLite and the in-process broker. */
describe('retention modes on SQLite, one node', () => {
  const nodes = async () => {
    const server = await startTestServer({ overrides: { ...RETENTION_NAMESPACES, grpcPort: 0 } });
    return [server, server] as const;
  };
  retentionSuite(nodes);
  pruningSuite(nodes);
  idempotenceSuite(nodes);
});
