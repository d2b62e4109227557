import type { FileStorage } from './file-storage.js';
import { LocalStorage } from './local-storage.js';
import { S3Storage, type S3StorageOptions } from './s3-storage.js';

/** Where files are kept (config `files.storage`, `files.directory`, `files.s3`). */
export interface FileStorageSettings {
  /** `local` (default): under `directory`; `s3`: in the bucket `s3` names. */
  readonly storage: 'local' | 's3';
  /** The local directory: stored files (local storage) and unfinished uploads (both). */
  readonly directory: string;
  readonly s3: S3StorageOptions | null;
}

/** The storage the settings name; throws one sentence when `s3` is chosen without a bucket. */
export function createFileStorage(settings: FileStorageSettings): FileStorage {
  if (settings.storage === 'local') return new LocalStorage(settings.directory);
  if (!settings.s3?.bucket) throw new Error('files.storage is "s3" but files.s3.bucket is not set.');
  return new S3Storage(settings.s3);
}
