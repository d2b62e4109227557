import { join } from 'node:path';
import { type Client, credentials, loadPackageDefinition, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PACKAGE_ROOT } from '../package-root.js';
import { BackendFailure, type BackendTransport } from './backend-transport.js';
import type { HookName, HookReply } from './hook-messages.js';

/** The service the app's backend implements: proto/proxy.proto, checked in. */
export const PROXY_PROTO = join(PACKAGE_ROOT, 'proto', 'proxy.proto');
export const PROXY_SERVICE = 'switchboard.proxy.v1.SwitchboardProxy';

/** How Switchboard and the tests load proxy.proto: camelCase fields, absent fields absent. */
export const PROXY_LOADER_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true } as const;

const METHODS: Readonly<Record<HookName, string>> = {
  connect: 'Connect',
  refresh: 'Refresh',
  subscribe: 'Subscribe',
  publish: 'Publish',
  rpc: 'RPC',
};
/** Fields that carry JSON as bytes, both ways. */
const JSON_FIELDS = ['data', 'info'] as const;

type Unary = (request: object, metadata: Metadata, options: { deadline: number }, done: (error: ServiceError | null, reply?: unknown) => void) => { cancel(): void };

/**
 * A backend reached over gRPC (switchboard.proxy.v1.SwitchboardProxy). Requests and
 * replies are the HTTP hooks' JSON shapes, with `data` and `info` as JSON bytes; a call
 * that ends UNAVAILABLE may be tried again.
 */
export class GrpcBackend implements BackendTransport {
  readonly #client: Client & Record<string, Unary>;
  readonly #address: string;

  constructor(options: { readonly address: string }) {
    this.#address = options.address;
    const definition = loadPackageDefinition(loadSync(PROXY_PROTO, PROXY_LOADER_OPTIONS));
    const Service = (definition.switchboard as never)['proxy']['v1']['SwitchboardProxy'] as new (
      address: string,
      creds: ReturnType<typeof credentials.createInsecure>,
    ) => Client & Record<string, Unary>;
    this.#client = new Service(options.address, credentials.createInsecure());
  }

  call(hook: HookName, request: object, signal: AbortSignal): Promise<HookReply> {
    return new Promise((resolve, reject) => {
      // The caller's deadline aborts the signal; gRPC's own deadline is only a backstop.
      const call = this.#client[METHODS[hook]]!.call(this.#client, toProto(request), new Metadata(), { deadline: Date.now() + 60_000 }, (error, reply) => {
        signal.removeEventListener('abort', cancel);
        if (error) {
          reject(new BackendFailure(`${this.#address} ${METHODS[hook]}: ${error.details || error.message}`, error.code === status.UNAVAILABLE));
          return;
        }
        try {
          resolve(fromProto(reply as Record<string, unknown>));
        } catch (failure) {
          reject(failure);
        }
      });
      const cancel = () => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
    });
  }

  close(): void {
    this.#client.close();
  }
}

/** A hook's JSON request as the proto message: JSON fields as bytes, a null user or text left out. */
function toProto(request: object): Record<string, unknown> {
  const message: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    if (value === null || value === undefined) continue;
    message[key] = (JSON_FIELDS as readonly string[]).includes(key) ? Buffer.from(JSON.stringify(value)) : value;
  }
  return message;
}

/** The proto reply as a hook's JSON reply; an empty JSON field or a zero expiry is absent. */
function fromProto(reply: Record<string, unknown>): HookReply {
  if (reply.outcome === 'error') {
    const error = reply.error as { code?: string; message?: string };
    return { error: { code: error.code ?? '', message: error.message ?? '' } };
  }
  if (reply.outcome !== 'result') throw new BackendFailure('the reply holds neither result nor error', false);
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(reply.result as Record<string, unknown>)) {
    if ((JSON_FIELDS as readonly string[]).includes(key)) {
      const bytes = value as Buffer;
      result[key] = bytes.length === 0 ? null : parseJson(bytes);
    } else if (!(key === 'expiresAt' && value === 0) && !(key === 'name' && value === '')) {
      result[key] = value;
    }
  }
  return { result };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BackendFailure('a data or info field is not JSON', false);
  }
}
