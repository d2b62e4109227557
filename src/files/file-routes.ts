import type { Readable } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { channelId, fileId } from '../../protocol/values.js';
import { SwitchboardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Principal } from '../core/types.js';
import { parseInput } from '../edge/validation.js';
import { sanitizeFileName } from './file-names.js';
import type { DownloadPass, FileDescriptor, Files } from './files.js';
import { createResumableServer, RESUMABLE_PATH } from './resumable-uploads.js';
import { sendDownload } from './send-download.js';
import type { FileVariant } from './url-signer.js';

export interface FileRoutesOptions {
  readonly files: Files;
  /** Who is asking, from the request's headers, as REST authenticates (`authenticateRequest`). */
  readonly authenticate: (request: FastifyRequest) => Promise<Principal>;
  readonly logger: Logger;
  /** Origins a browser may upload from (tus's CORS answer); empty: any. */
  readonly allowedOrigins?: readonly string[];
}

const uploadQuery = z.strictObject({
  channel: channelId,
  name: z.string().max(1000).optional().describe('The file\'s name; a multipart part\'s filename otherwise.'),
});
const fileParams = z.strictObject({ id: fileId });
const uploadParams = z.strictObject({ uploadId: z.string().regex(/^[a-f0-9]{32}$/, 'an upload id') });
const downloadParams = fileParams.extend({ variant: z.enum(['content', 'thumbnail']) });
const downloadQuery = z.strictObject({
  expires: z.coerce.number().int().positive().optional(),
  signature: z.string().max(100).optional(),
});
const dimensions = z.object({ width: z.number().int(), height: z.number().int() });
const fileDescriptor = z
  .object({
    id: z.string(),
    name: z.string(),
    size: z.number().int(),
    type: z.string().describe('Sniffed from the bytes, never taken from the client.'),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    thumbnail: z.union([dimensions, z.literal('pending'), z.null()]),
    channel: channelId,
    uploader: z.string(),
    createdAt: z.number().int(),
    url: z.string().describe('Signed link to the bytes, relative to the server; works without headers.'),
    thumbnailUrl: z.string().nullable(),
    urlsExpireAt: z.number().int(),
  })
  .meta({ id: 'FileDescriptor' });

/**
 * The files module's HTTP routes, in a scope of their own (bodies are read as streams,
 * never parsed or buffered):
 * - `POST /api/files?channel=…&name=…`: a single-request upload, raw body or multipart
 *   (up to `maxSingleUploadBytes`), 201 with the file;
 * - `/api/files/uploads[/:id]`: resumable uploads (tus 1.0: creation, PATCH, HEAD,
 *   termination, expiration); the finishing PATCH names the file in `Switchboard-File-Id`,
 *   and `GET /api/files/uploads/:id` finds it later;
 * - `GET /api/files/:id`: the file with signed links, for readers of its channel;
 * - `GET|HEAD /api/files/:id/content|thumbnail`: the bytes, with a reader's credentials
 *   or a signed link (`expires`, `signature`).
 *
 * @example
 *   await registerFileRoutes(app, { files, logger, authenticate: (r) => authenticateRequest(r, authenticator) });
 */
export async function registerFileRoutes(app: FastifyInstance, options: FileRoutesOptions): Promise<void> {
  const { files, authenticate, logger } = options;
  /** The principal of each tus request, for tus's hooks, which get only the request. */
  const principals = new WeakMap<object, Principal>();
  const tus = createResumableServer({
    files,
    logger,
    allowedOrigins: options.allowedOrigins ?? [],
    principalOf: (request) => principals.get(request),
  });

  await app.register(async (scope) => {
    // Zod schemas here document (OpenAPI); inputs are parsed in the handlers.
    scope.setValidatorCompiler(() => () => true);
    scope.setSerializerCompiler(() => (data) => JSON.stringify(data));
    // Every body in this scope is a stream its handler reads (or tus does), never parsed.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    // A refusal before the body was read ends the connection (a lingering close, see
    // LingeringClose), so a client that declared gigabytes is not read to the end.
    scope.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode >= 400 && !request.raw.complete) void reply.header('connection', 'close');
      return payload;
    });
    await scope.register(fastifyMultipart, {
      limits: { files: 1, fields: 0, parts: 1, fileSize: files.settings.maxSingleUploadBytes },
    });

    scope.post(
      '/api/files',
      {
        schema: {
          tags: ['files'],
          summary: 'Uploads a small file in one request (raw body or multipart/form-data)',
          querystring: uploadQuery,
          response: { 201: fileDescriptor },
        },
      },
      async (request, reply) => {
        const principal = await authenticate(request);
        const query = parseInput(uploadQuery, request.query);
        await files.access.assertCanPublish(principal, query.channel);
        const maxBytes = Math.min(files.settings.maxSingleUploadBytes, files.settings.maxFileBytes);
        const declared = declaredLength(request);
        if (declared !== undefined && declared > maxBytes) {
          throw new SwitchboardError('too_large', `A single-request upload takes at most ${maxBytes} bytes; use a resumable upload.`, {
            limit: maxBytes,
          });
        }
        await files.limits.admit(principal, declared);
        let source: Readable = request.raw;
        let name = query.name;
        if (request.isMultipart()) {
          const part = await request.file();
          if (!part) throw new SwitchboardError('bad_request', 'The form has no file.');
          source = part.file;
          name ??= part.filename;
        }
        const staged = await files.staging.receive(source, maxBytes);
        const file = await files.intake.accept(staged, {
          principal,
          channel: query.channel,
          name: sanitizeFileName(name ?? 'file'),
          uploadId: null,
        });
        return reply.code(201).send(await files.describe(principal, file.id));
      },
    );

    const tusRoute = async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.method !== 'OPTIONS') principals.set(request.raw, await authenticate(request));
      reply.hijack();
      await tus.handle(request.raw, reply.raw);
    };
    const tusDoc = (summary: string) => ({ tags: ['files'], summary });
    scope.route({
      method: ['POST', 'OPTIONS'],
      url: RESUMABLE_PATH,
      schema: tusDoc('Starts a resumable upload (tus 1.0 creation; Upload-Metadata: channel, filename)'),
      handler: tusRoute,
    });
    scope.route({
      method: ['HEAD', 'PATCH', 'DELETE', 'OPTIONS'],
      url: `${RESUMABLE_PATH}/:uploadId`,
      schema: tusDoc('Resumes (HEAD for the offset, PATCH from it) or cancels (DELETE) a resumable upload (tus 1.0)'),
      handler: tusRoute,
    });
    scope.get(
      `${RESUMABLE_PATH}/:uploadId`,
      {
        exposeHeadRoute: false,
        schema: { tags: ['files'], summary: 'The file a finished resumable upload became', params: uploadParams, response: { 200: fileDescriptor } },
      },
      async (request) => {
        const principal = await authenticate(request);
        return files.describeUpload(principal, parseInput(uploadParams, request.params).uploadId);
      },
    );

    scope.get(
      '/api/files/:id',
      { schema: { tags: ['files'], summary: 'A file, with signed links to it: readers of its channel', params: fileParams, response: { 200: fileDescriptor } } },
      async (request): Promise<FileDescriptor> => {
        const principal = await authenticate(request);
        return files.describe(principal, parseInput(fileParams, request.params).id);
      },
    );

    scope.get(
      '/api/files/:id/:variant',
      {
        schema: {
          tags: ['files'],
          summary: 'A file\'s bytes or its thumbnail: with a signed link (no headers needed), or a reader\'s credentials',
          params: downloadParams,
          querystring: downloadQuery,
          security: [{}, { bearer: [] }, { apiKey: [] }, { openUser: [] }],
        },
      },
      async (request, reply) => {
        const { id, variant } = parseInput(downloadParams, request.params);
        const query = parseInput(downloadQuery, request.query);
        const pass: DownloadPass =
          query.signature !== undefined || query.expires !== undefined
            ? { kind: 'signed', expires: query.expires ?? 0, signature: query.signature ?? '' }
            : { kind: 'principal', principal: await authenticate(request) };
        const target = await files.download(id, variant as FileVariant, pass);
        // A signed link may be cached while it works; a credentialed request is revalidated.
        const maxAgeSeconds = pass.kind === 'signed' ? Math.max(0, Math.floor(pass.expires - files.now() / 1000)) : 0;
        return sendDownload(request, reply, files.storage, target, { maxAgeSeconds });
      },
    );
  });
}

function declaredLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}
