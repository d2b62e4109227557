import { rm } from 'node:fs/promises';
import { Server as TusServer } from '@tus/server';
import { channelId } from '../../protocol/values.js';
import { SwitchboardError, toSwitchboardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Principal } from '../core/types.js';
import { parseInput } from '../edge/validation.js';
import { sanitizeFileName } from './file-names.js';
import type { Files } from './files.js';

/** Where resumable uploads live (the tus protocol's creation URL). */
export const RESUMABLE_PATH = '/api/files/uploads';
/** The response header that names the file a finished upload became. */
export const FILE_ID_HEADER = 'Switchboard-File-Id';

/** tus's requests carry the Node.js request they were made from. */
type TusRequest = { readonly method: string; readonly runtime?: { readonly node?: { readonly req: object } } };

/**
 * The tus 1.0 server behind `/api/files/uploads`: creation (Upload-Length required, with
 * Upload-Metadata `channel` and `filename`), PATCH from the offset HEAD reports, DELETE,
 * and expiry of unfinished uploads. The route authenticates each request first and hands
 * its principal over (`principalOf`); an upload answers only its uploader. A finished
 * upload goes through the same intake as a single-request one.
 */
export function createResumableServer(options: {
  readonly files: Files;
  readonly logger: Logger;
  readonly allowedOrigins: readonly string[];
  readonly principalOf: (request: object) => Principal | undefined;
}): TusServer {
  const { files, logger } = options;
  const principalOf = (request: TusRequest): Principal => {
    const principal = request.runtime?.node && options.principalOf(request.runtime.node.req);
    if (!principal) throw new SwitchboardError('unauthorized');
    return principal;
  };
  return new TusServer({
    path: RESUMABLE_PATH,
    datastore: files.resumable,
    relativeLocation: true,
    maxSize: files.settings.maxFileBytes,
    exposedHeaders: [FILE_ID_HEADER],
    allowedHeaders: ['Authorization', 'X-Switchboard-Key', 'X-Switchboard-User'],
    ...(options.allowedOrigins.length > 0 && { allowedOrigins: [...options.allowedOrigins] }),
    async onUploadCreate(request, upload) {
      try {
        const principal = principalOf(request);
        if (upload.size === undefined) {
          throw new SwitchboardError('bad_request', "Declare the upload's length (Upload-Length); deferred lengths are not taken.");
        }
        const channel = parseInput(channelId, upload.metadata?.channel ?? undefined);
        await files.access.assertCanPublish(principal, channel);
        await files.limits.admit(principal, upload.size);
        const name = sanitizeFileName(upload.metadata?.filename ?? upload.metadata?.name ?? 'file');
        return { metadata: { channel, filename: name, uploader: principal.userId } };
      } catch (error) {
        throw tusError(error, logger);
      }
    },
    async onIncomingRequest(request, uploadId) {
      if (request.method === 'POST') return;
      try {
        const principal = principalOf(request);
        const upload = await files.resumable.getUpload(uploadId).catch(() => null);
        // Someone else's upload answers as if it did not exist.
        if (!upload || upload.metadata?.uploader !== principal.userId) throw new SwitchboardError('not_found', 'No such upload.');
      } catch (error) {
        throw tusError(error, logger);
      }
    },
    async onUploadFinish(request, upload) {
      const path = upload.storage?.path ?? '';
      try {
        const principal = principalOf(request);
        const file = await files.intake.accept(await files.staging.hash(path), {
          principal,
          channel: upload.metadata?.channel ?? '',
          name: upload.metadata?.filename ?? 'file',
          uploadId: upload.id,
        });
        return { headers: { [FILE_ID_HEADER]: file.id } };
      } catch (error) {
        throw tusError(error, logger);
      } finally {
        // The intake took the bytes in (or refused them): the upload is over either way.
        if (path) await rm(path, { force: true });
        await files.resumable.configstore.delete(upload.id).catch(() => {});
      }
    },
  });
}

/** A refusal in tus's shape (status and body), with our `{code, message}` body. */
function tusError(error: unknown, logger: Logger): { status_code: number; body: string } {
  const failure = toSwitchboardError(error);
  if (failure.code === 'internal') logger.error({ err: error }, 'resumable upload failed');
  return { status_code: failure.httpStatus, body: JSON.stringify(failure.toJSON()) };
}
