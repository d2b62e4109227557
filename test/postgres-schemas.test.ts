import pg from 'pg';
import { expect, it } from 'vitest';
import { openPostgresDatabase } from '../src/store/postgres-database.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { createTestSchema } from './helpers/postgres.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';

/**
 * Deployments and tests share one PostgreSQL database, each in its own schema. A node
 * migrating its schema must not trip over another schema dropped at that moment (it once
 * failed with `schema "…" does not exist`, from introspecting every schema by name).
 */
describeWithServices(['TEST_DATABASE_URL'], 'PostgreSQL schemas side by side', () => {
  it('migrates its own schema while other schemas are created and dropped', async () => {
    const base = serviceUrl('TEST_DATABASE_URL')!;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    const churn = `churn_${Date.now().toString(36)}`;
    let stop = false;
    let churned = 0;
    // Another tenant making and dropping schemas full of tables, as fast as it can.
    const churning = (async () => {
      while (!stop) {
        const name = `"${churn}_${churned}"`;
        await admin.query(`create schema ${name}; create table ${name}.a (id bigserial primary key, v text); create table ${name}.b (id bigserial primary key)`);
        await admin.query(`drop schema ${name} cascade`);
        churned++;
      }
    })();
    try {
      for (let i = 0; i < 8; i++) {
        const schema = await createTestSchema(base, 'side');
        try {
          const database = await openPostgresDatabase({ url: schema.url, maxConnections: 2 }, [logMigrations]);
          await database.close();
        } finally {
          await schema.drop();
        }
      }
    } finally {
      stop = true;
      await churning;
      await admin.end();
    }
    // The churn really ran beside the migrations.
    expect(churned).toBeGreaterThan(8);
  }, 60_000);
});
