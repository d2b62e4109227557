import type { FastifyReply, FastifyRequest } from 'fastify';
import { contentDisposition } from './file-names.js';
import type { ByteRange, FileStorage } from './file-storage.js';
import type { DownloadTarget } from './files.js';

/**
 * Streams a download with the headers that make it safe and cheap:
 * - `Content-Type` as sniffed, `X-Content-Type-Options: nosniff`, and a sandboxing CSP,
 *   so no upload is ever run as a page, whatever its bytes;
 * - `Content-Disposition: inline` only for safe images, `attachment` for everything else;
 * - one byte range (`Range: bytes=…`, `If-Range`), 206 or 416; several ranges get the whole;
 * - a strong ETag (the bytes are content-addressed), 304 for `If-None-Match`, and caching
 *   for as long as the link that asked may be used (`private`: a reader's file).
 */
export async function sendDownload(
  request: FastifyRequest,
  reply: FastifyReply,
  storage: FileStorage,
  target: DownloadTarget,
  options: { readonly maxAgeSeconds: number },
): Promise<FastifyReply> {
  reply
    .header('content-type', target.type)
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('cross-origin-resource-policy', 'same-site')
    .header('content-disposition', contentDisposition(target.inline ? 'inline' : 'attachment', target.name))
    .header('accept-ranges', 'bytes')
    .header('etag', target.etag)
    .header('last-modified', new Date(target.file.createdAt).toUTCString())
    .header('cache-control', options.maxAgeSeconds > 0 ? `private, max-age=${options.maxAgeSeconds}, immutable` : 'private, no-cache');

  if (matchesEtag(request.headers['if-none-match'], target.etag)) return reply.code(304).send();

  const range = requestedRange(request, target);
  if (range === 'unsatisfiable') {
    return reply.code(416).header('content-range', `bytes */${target.size}`).send();
  }
  if (request.method === 'HEAD') {
    const length = range ? range.end - range.start + 1 : target.size;
    if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${target.size}`);
    return reply.header('content-length', length).send();
  }
  if (target.size === 0) return reply.header('content-length', 0).send('');
  const body = await storage.get(target.key, range ?? undefined);
  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${target.size}`);
  }
  return reply.header('content-length', range ? range.end - range.start + 1 : target.size).send(body);
}

/** The one range asked for; null for the whole (no Range, several ranges, or a stale If-Range). */
function requestedRange(request: FastifyRequest, target: DownloadTarget): ByteRange | null | 'unsatisfiable' {
  const header = request.headers.range;
  if (typeof header !== 'string') return null;
  const ifRange = request.headers['if-range'];
  if (typeof ifRange === 'string' && ifRange !== target.etag) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const size = target.size;
  if (match[1] === '') {
    // The last N bytes.
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

function matchesEtag(header: string | string[] | undefined, etag: string): boolean {
  if (typeof header !== 'string') return false;
  return header.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*');
}
