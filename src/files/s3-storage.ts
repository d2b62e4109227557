import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { assertStorageKey, type ByteRange, type FileStorage, StorageNotFound } from './file-storage.js';

export interface S3StorageOptions {
  readonly bucket: string;
  /** Prepended to every key (`switchboard/`), so one bucket can hold other things too. */
  readonly prefix?: string;
  readonly region?: string;
  /** An S3-compatible service's URL (MinIO, R2, Ceph …); unset: AWS. */
  readonly endpoint?: string;
  /** `bucket` in the path rather than the host name, as most S3-compatible services want. */
  readonly forcePathStyle?: boolean;
  /** Unset: the SDK's default chain (environment, shared files, instance roles). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * Objects in an S3-compatible bucket. A put is one streamed PutObject with a known length
 * (the module always knows it), so nothing is buffered and no multipart state is left
 * behind by a failure. Checksums are sent only where the service requires them: most
 * S3-compatible services do not understand the SDK's newer trailing checksums.
 *
 * @example
 *   new S3Storage({ bucket: 'chat-files', endpoint: 'http://minio:9000', forcePathStyle: true })
 */
export class S3Storage implements FileStorage {
  readonly kind = 's3';
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3StorageOptions) {
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
    this.#client = new S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint && { endpoint: options.endpoint }),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials && { credentials: { ...options.credentials } }),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Readable, options: { readonly size: number; readonly contentType?: string }): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#key(key),
        Body: body,
        ContentLength: options.size,
        ContentType: options.contentType ?? 'application/octet-stream',
      }),
    );
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const result = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key(key),
          ...(range && { Range: `bytes=${range.start}-${range.end}` }),
        }),
      );
      if (!(result.Body instanceof Readable)) throw new Error('The S3 client returned no stream.');
      return result.Body;
    } catch (error) {
      if (isNotFound(error)) throw new StorageNotFound(key);
      throw error;
    }
  }

  async stat(key: string): Promise<{ readonly size: number } | null> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #key(key: string): string {
    assertStorageKey(key);
    return this.#prefix + key;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey');
}
