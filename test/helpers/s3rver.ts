import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { S3StorageOptions } from '../../src/files/s3-storage.js';

export interface LocalS3 {
  /** What S3Storage needs to reach the bucket. */
  readonly options: S3StorageOptions;
  /** Where s3rver keeps the objects: a test can look at the disk. */
  readonly directory: string;
  close(): Promise<void>;
}

/**
 * An S3-compatible server (s3rver) on a free loopback port, with an empty bucket, its
 * objects in a fresh temporary directory. Nothing leaves the machine.
 */
export async function startLocalS3(bucket = 'switchboard-files'): Promise<LocalS3> {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  const { port } = await server.run();
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const endpoint = `http://127.0.0.1:${port}`;
  const admin = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  return {
    options: { bucket, endpoint, forcePathStyle: true, credentials, prefix: 'files/' },
    directory,
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
