import type { Store } from '../core/store.js';
import { openPostgresStore } from './postgres-store.js';
import { openSqliteStore } from './sqlite-store.js';

/** Where a DATABASE_URL points: `sqlite:PATH`, a bare path, or `postgres://...`. */
export function parseDatabaseUrl(url: string): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', url };
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') };
  return { kind: 'sqlite', path: url };
}

export async function openStore(url: string): Promise<Store> {
  const target = parseDatabaseUrl(url);
  if (target.kind === 'sqlite') return openSqliteStore({ path: target.path });
  return openPostgresStore({ url: target.url });
}
