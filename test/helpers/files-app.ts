import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { OpenAuthenticator } from '../../src/auth/open-authenticator.js';
import { MemoryBroker } from '../../src/broker/memory-broker.js';
import { defaultConfig } from '../../src/config.js';
import { Hub } from '../../src/core/hub.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Principal } from '../../src/core/types.js';
import { hubAccess } from '../../src/files/channel-access.js';
import type { FileStorage } from '../../src/files/file-storage.js';
import { registerFileRoutes } from '../../src/files/file-routes.js';
import { Files, type FilesSettings } from '../../src/files/files.js';
import { LocalStorage } from '../../src/files/local-storage.js';
import { filesMigrations } from '../../src/files/migrations/index.js';
import { S3Storage, type S3StorageOptions } from '../../src/files/s3-storage.js';
import type { ThumbnailOutcome } from '../../src/files/thumbnailer.js';
import type { Database } from '../../src/store/database.js';
import { KyselyStore } from '../../src/store/kysely-store.js';
import { logMigrations } from '../../src/store/migrations/index.js';
import { openDatabase } from '../../src/store/open-database.js';
import { httpErrorHandler } from '../../src/transports/http/http-errors.js';
import { LingeringClose } from '../../src/transports/http/lingering-close.js';
import { authenticateRequest } from '../../src/transports/http/request-auth.js';
import { type LocalS3, startLocalS3 } from './s3rver.js';

export type StorageKind = 'local' | 's3';

export interface FilesApp {
  readonly url: string;
  readonly hub: Hub;
  readonly files: Files;
  readonly storage: FileStorage;
  readonly database: Database;
  /** The local working directory (unfinished uploads; local storage's objects too). */
  readonly directory: string;
  /** The clock the module reads; tests move it forward instead of waiting. */
  readonly clock: { now: number };
  /** A user principal, as auth "open" makes one. */
  user(name: string): Principal;
  close(): Promise<void>;
}

/**
 * The files module on a real Fastify server on a free loopback port, over a real hub and
 * database (SQLite in a fresh directory, or `databaseUrl`), with auth "open" (send
 * `X-Switchboard-User`), the way src/server.ts will wire it. Storage is the local disk or
 * an s3rver started for this app.
 */
export async function startFilesApp(
  options: {
    storage?: StorageKind;
    settings?: Partial<FilesSettings>;
    databaseUrl?: string;
    /** An S3-compatible service already running (the benchmark's, in its own process); unset: one is started. */
    s3?: S3StorageOptions;
  } = {},
): Promise<FilesApp> {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-files-'));
  const database = await openDatabase(options.databaseUrl ?? `sqlite:${join(directory, 'test.db')}`, [logMigrations, filesMigrations], {
    othersMayExist: true,
  });
  const broker = new MemoryBroker({ logger: silentLogger });
  const hub = new Hub({ store: new KyselyStore(database), broker, logger: silentLogger, limits: defaultConfig.limits });
  await hub.start();
  let s3: LocalS3 | null = null;
  let storage: FileStorage;
  if (options.storage === 's3') {
    if (!options.s3) s3 = await startLocalS3();
    storage = new S3Storage(options.s3 ?? s3!.options);
  } else {
    storage = new LocalStorage(join(directory, 'files'));
  }
  const clock = { now: Date.now() };
  const files = await Files.create({
    database,
    storage,
    access: hubAccess(hub),
    logger: silentLogger,
    workDirectory: join(directory, 'files'),
    settings: { gcIntervalSeconds: 0, ...options.settings },
    now: () => clock.now,
  });
  const authenticator = new OpenAuthenticator();
  // As src/server.ts builds it: a refused request is answered, then closed without a reset.
  const lingering = new LingeringClose();
  // Connections are cut on close, as server.ts's shutdown deadline does: a test that never
  // read a download's body leaves its kept-alive connection to the client otherwise.
  const app = Fastify({
    bodyLimit: defaultConfig.limits.httpBodyBytes,
    clientErrorHandler: lingering.clientErrorHandler,
    forceCloseConnections: true,
  });
  lingering.attach(app.server);
  app.addHook('preClose', async () => lingering.closeAll());
  app.setErrorHandler(httpErrorHandler(silentLogger));
  await registerFileRoutes(app, { files, logger: silentLogger, authenticate: (request) => authenticateRequest(request, authenticator) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    hub,
    files,
    storage,
    database,
    directory,
    clock,
    user: (name) => ({ kind: 'user', userId: name, name, roles: [] }),
    async close() {
      await app.close();
      await files.close();
      await hub.shutdown('test over');
      await broker.close();
      await database.close();
      await s3?.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The name bytes are stored under (blobKey, thumbnailKey). */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Resolves with the next thumbnail outcome for these bytes on this node; rejects after the timeout. */
export function nextThumbnail(app: FilesApp, bytes: Uint8Array, timeoutMs = 10_000): Promise<ThumbnailOutcome> {
  const hash = sha256(bytes);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no thumbnail for ${hash} within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = app.files.onThumbnail((outcome) => {
      if (outcome.sha256 !== hash) return;
      clearTimeout(timer);
      stop();
      resolve(outcome);
    });
  });
}
