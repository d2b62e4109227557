import type { ErrorCode } from '../../protocol/codes.js';
import { ClientError } from './errors.js';

/** What an upload is told as its bytes leave (`onProgress`). */
export interface UploadProgress {
  /** Bytes the server has taken so far. */
  readonly sent: number;
  readonly total: number;
}

export interface UploadOptions {
  /** The channel the file is for: you must be allowed to publish there, and may attach it only there. */
  readonly channel: string;
  /** The file's name; default: the File's own, else `file`. The server sanitises it. */
  readonly name?: string;
  /** Called as bytes are taken (in a browser, as they leave; elsewhere per chunk). */
  readonly onProgress?: (progress: UploadProgress) => void;
  /** Files larger than this go resumable (tus), in chunks that survive a dropped connection. Default 8 MiB. */
  readonly resumableAbove?: number;
  /** A resumable upload's chunk. Default 4 MiB. */
  readonly chunkBytes?: number;
  /** Tries per chunk after a failure that is not the server's refusal. Default 5. */
  readonly attempts?: number;
  /** Stops the upload (rejects with `closed`; a resumable one is cancelled on the server). */
  readonly signal?: AbortSignal;
}

/** Where the uploads go and with what credential (see Connection.httpAccess). */
export interface UploadTarget {
  readonly origin: string;
  readonly headers: Record<string, string>;
}

type Body = Blob;
interface HttpAnswer {
  readonly status: number;
  readonly header: (name: string) => string | null;
  readonly text: string;
}

const TUS = { 'Tus-Resumable': '1.0.0' };
const DEFAULT_RESUMABLE_ABOVE = 8 * 1024 * 1024;
const DEFAULT_CHUNK = 4 * 1024 * 1024;

/**
 * Uploads one file and resolves with its id: in one request when small (`POST
 * /api/files`), resumable (tus 1.0) when large, where a chunk whose connection dropped is
 * sent again from the offset the server holds (HEAD) rather than from the start.
 * Progress comes from XMLHttpRequest where there is one (browsers), else per chunk.
 */
export async function uploadFile(target: () => Promise<UploadTarget>, file: Blob, options: UploadOptions): Promise<string> {
  const name = options.name ?? (file as { name?: string }).name ?? 'file';
  const total = file.size;
  options.onProgress?.({ sent: 0, total });
  const id =
    total <= (options.resumableAbove ?? DEFAULT_RESUMABLE_ABOVE)
      ? await single(await target(), file, name, options)
      : await resumable(target, file, name, options);
  options.onProgress?.({ sent: total, total });
  return id;
}

async function single(target: UploadTarget, file: Body, name: string, options: UploadOptions): Promise<string> {
  const url = `${target.origin}/api/files?channel=${encodeURIComponent(options.channel)}&name=${encodeURIComponent(name)}`;
  const answer = await send('POST', url, { ...target.headers, 'Content-Type': 'application/octet-stream' }, file, options, 0, file.size);
  if (answer.status !== 201) throw refusal(answer);
  return (JSON.parse(answer.text) as { id: string }).id;
}

async function resumable(target: () => Promise<UploadTarget>, file: Body, name: string, options: UploadOptions): Promise<string> {
  const total = file.size;
  let access = await target();
  const created = await send(
    'POST',
    `${access.origin}/api/files/uploads`,
    {
      ...access.headers,
      ...TUS,
      'Upload-Length': String(total),
      'Upload-Metadata': `channel ${base64(options.channel)},filename ${base64(name)}`,
    },
    null,
    options,
    0,
    total,
  );
  if (created.status !== 201) throw refusal(created);
  const location = new URL(created.header('location') ?? '', `${access.origin}/api/files/uploads/`).toString();
  const chunk = options.chunkBytes ?? DEFAULT_CHUNK;
  const attempts = options.attempts ?? 5;
  let offset = 0;
  let failures = 0;
  try {
    for (;;) {
      try {
        const end = Math.min(offset + chunk, total);
        const answer = await send(
          'PATCH',
          location,
          { ...access.headers, ...TUS, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
          file.slice(offset, end),
          options,
          offset,
          total,
        );
        if (answer.status !== 204) throw refusal(answer);
        offset = Number(answer.header('upload-offset') ?? end);
        failures = 0;
        const fileId = answer.header('switchboard-file-id');
        if (offset >= total) {
          if (fileId) return fileId;
          throw new ClientError('internal', 'The server finished the upload without naming its file.');
        }
      } catch (error) {
        // A refusal (too large, not allowed, gone) stays one; a lost connection resumes.
        if (error instanceof ClientError || options.signal?.aborted || ++failures >= attempts) throw error;
        await pause(Math.min(250 * 2 ** failures, 5000));
        access = await target();
        const head = await send('HEAD', location, { ...access.headers, ...TUS }, null, options, offset, total);
        if (head.status !== 200) throw refusal(head);
        offset = Number(head.header('upload-offset') ?? offset);
      }
    }
  } catch (error) {
    if (options.signal?.aborted) {
      await send('DELETE', location, { ...access.headers, ...TUS }, null, {}, 0, total).catch(() => {});
    }
    throw error;
  }
}

/** One HTTP request: XMLHttpRequest where there is one (upload progress), fetch otherwise. */
function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Body | null,
  options: Pick<UploadOptions, 'onProgress' | 'signal'>,
  offset: number,
  total: number,
): Promise<HttpAnswer> {
  if (options.signal?.aborted) return Promise.reject(aborted());
  const Xhr = (globalThis as { XMLHttpRequest?: new () => XMLHttpRequest }).XMLHttpRequest;
  if (Xhr) {
    return new Promise((resolve, reject) => {
      const xhr = new Xhr();
      xhr.open(method, url);
      for (const [key, value] of Object.entries(headers)) xhr.setRequestHeader(key, value);
      if (body && options.onProgress) {
        xhr.upload.onprogress = (event) => options.onProgress!({ sent: Math.min(offset + event.loaded, total), total });
      }
      const stop = () => xhr.abort();
      options.signal?.addEventListener('abort', stop, { once: true });
      xhr.onload = () => {
        options.signal?.removeEventListener('abort', stop);
        resolve({ status: xhr.status, header: (name) => xhr.getResponseHeader(name), text: xhr.responseText });
      };
      xhr.onerror = () => reject(new TypeError(`${method} ${url}: the connection failed`));
      xhr.onabort = () => reject(aborted());
      xhr.send(body);
    });
  }
  return fetch(url, { method, headers, body, signal: options.signal }).then(
    async (response) => {
      if (body && response.ok) options.onProgress?.({ sent: Math.min(offset + body.size, total), total });
      return { status: response.status, header: (name) => response.headers.get(name), text: await response.text() };
    },
    (error: unknown) => {
      throw options.signal?.aborted ? aborted() : error;
    },
  );
}

/** The server's `{code, message}` as a ClientError. */
function refusal(answer: HttpAnswer): ClientError {
  try {
    const body = JSON.parse(answer.text) as { code?: ErrorCode; message?: string; details?: Record<string, unknown> };
    if (body.code) return new ClientError(body.code, body.message ?? body.code, { request: 'upload', details: body.details });
  } catch {
    // Not ours (a proxy's page): the status says enough.
  }
  const code: ErrorCode = answer.status === 413 ? 'too_large' : answer.status === 404 ? 'not_found' : answer.status >= 500 ? 'unavailable' : 'bad_request';
  return new ClientError(code, `The upload was refused (HTTP ${answer.status}).`, { request: 'upload' });
}

function aborted(): ClientError {
  return new ClientError('closed', 'The upload was cancelled.', { request: 'upload' });
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** tus metadata values: base64 of the UTF-8 bytes. */
function base64(value: string): string {
  const bytes = new TextEncoder().encode(value);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
