import { request } from 'node:http';

/** Headers every tus request carries here: the protocol version and an open-mode user. */
function tusHeaders(user: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'Tus-Resumable': '1.0.0', 'X-Switchboard-User': user, ...extra };
}

/** Upload-Metadata: comma-separated `key base64(value)` pairs. */
export function uploadMetadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key} ${Buffer.from(value, 'utf8').toString('base64')}`)
    .join(',');
}

/** Starts a resumable upload; resolves with the response (Location names the upload). */
export function createUpload(baseUrl: string, user: string, length: number, metadata: Record<string, string>): Promise<Response> {
  return fetch(`${baseUrl}/api/files/uploads`, {
    method: 'POST',
    headers: tusHeaders(user, { 'Upload-Length': String(length), 'Upload-Metadata': uploadMetadata(metadata) }),
  });
}

/** The offset the server holds for an upload (HEAD), or the status it answered instead. */
export async function uploadOffset(uploadUrl: string, user: string): Promise<{ status: number; offset: number | null }> {
  const response = await fetch(uploadUrl, { method: 'HEAD', headers: tusHeaders(user) });
  const offset = response.headers.get('upload-offset');
  return { status: response.status, offset: offset === null ? null : Number(offset) };
}

/** Sends bytes from `offset` in one PATCH. */
export function patchUpload(uploadUrl: string, user: string, offset: number, body: Uint8Array): Promise<Response> {
  return fetch(uploadUrl, {
    method: 'PATCH',
    headers: tusHeaders(user, { 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' }),
    body: Buffer.from(body) as unknown as BodyInit,
  });
}

/**
 * A PATCH whose connection is cut: it declares all of `body` but sends only the first
 * `sent` bytes, waits until the server has written at least `atLeast` of them (`written`
 * reports the server's count), then destroys the socket, as a phone losing its network does.
 */
export async function patchAndCut(
  uploadUrl: string,
  user: string,
  offset: number,
  body: Uint8Array,
  sent: number,
  written: () => Promise<void>,
): Promise<void> {
  const url = new URL(uploadUrl);
  const req = request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'PATCH',
    headers: {
      ...tusHeaders(user, { 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' }),
      'Content-Length': String(body.length),
    },
  });
  const ended = new Promise<void>((resolve) => {
    req.on('error', () => resolve());
    req.on('close', () => resolve());
  });
  req.write(body.subarray(0, sent));
  await written();
  req.destroy();
  await ended;
}
