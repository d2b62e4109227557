import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestSchema {
  /** The database URL with `search_path` set to the fresh schema. */
  readonly url: string;
  readonly schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/**
 * A fresh, empty schema in the test database, so parallel runs (and other engineers'
 * tests) never see each other's tables. Every connection made with `url` uses it.
 */
export async function createTestSchema(baseUrl: string, label = 't'): Promise<TestSchema> {
  const schema = `${label}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await adminQuery(baseUrl, `create schema "${schema}"`);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    drop: () => adminQuery(baseUrl, `drop schema if exists "${schema}" cascade`),
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
