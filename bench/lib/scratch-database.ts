import pg from 'pg';
import { deferCleanup } from './cleanup.js';

export interface ScratchDatabase {
  /** The base URL with its path pointing at the new database. */
  readonly url: string;
  readonly name: string;
  /** Drops the database (its open connections too). Safe to call twice. */
  drop(): Promise<void>;
}

/**
 * A fresh, uniquely named PostgreSQL database on the server of `baseUrl`, so a run starts
 * empty and never touches anyone else's tables. Dropped by `drop()`, or by an interrupted
 * run on its way out (see cleanup.ts).
 */
export async function createScratchDatabase(baseUrl: string): Promise<ScratchDatabase> {
  const name = `switchboard_bench_${process.pid}_${Date.now().toString(36)}`;
  await adminQuery(baseUrl, `CREATE DATABASE ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | null = null;
  const drop = () => (dropped ??= adminQuery(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(forget));
  const forget = deferCleanup(drop);
  return { url: url.toString(), name, drop };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query(text);
  } finally {
    await client.end().catch(() => {});
  }
}
