import * as grpc from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { loadSwitchboardProtos } from '../../src/transports/grpc/proto-definition.js';

/**
 * gRPC clients for tests: real grpc-js clients built from the checked-in .proto files, as
 * any generated client is. Unset fields are absent, enums are names, int64s are numbers.
 */

export type Message = Record<string, unknown>;

export const packageObject = grpc.loadPackageDefinition(loadSwitchboardProtos()) as unknown as {
  switchboard: { v1: { Switchboard: grpc.ServiceClientConstructor } };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.close();
});

/** A Switchboard client on the server's gRPC port (or `port`), closed after the test. */
export function grpcClient(server: { readonly grpcPort: number | null }, port = server.grpcPort): grpc.Client {
  return track(new packageObject.switchboard.v1.Switchboard(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
}

/** Closes `client` after the test. */
export function track<T extends { close(): void }>(client: T): T {
  opened.push(client);
  return client;
}

/** Metadata of a user naming itself (auth "open"). */
export function as(user: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-switchboard-user', user);
  return metadata;
}

export function withApiKey(key: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-switchboard-key', key);
  return metadata;
}

/** One unary call; resolves with the response or rejects with the grpc-js ServiceError. */
export function call<T = Message>(client: grpc.Client, method: string, request: Message, metadata = new grpc.Metadata()): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Function>)[method]!.bind(client);
    fn(request, metadata, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null, response: T) =>
      error ? reject(error) : resolve(withoutPresenceMarkers(response)),
    );
  });
}

/**
 * With `oneofs: true`, proto-loader marks each set proto3 `optional` field with a synthetic
 * oneof (`_seq: 'seq'`); a generated client has no such field. Real oneofs (`kind`) stay.
 */
function withoutPresenceMarkers<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutPresenceMarkers) as T;
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).filter(([key, inner]) => !(key.startsWith('_') && inner === key.slice(1)));
  return Object.fromEntries(entries.map(([key, inner]) => [key, withoutPresenceMarkers(inner)])) as T;
}

/** The ServiceError a call fails with (fails the test if it succeeds). */
export async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

export interface EventMessage {
  channel: string;
  seq: number;
  kind: string;
  text?: string;
  author?: string;
  data?: unknown;
  [key: string]: unknown;
}

/** A server stream (Subscribe, FollowList, Health/Watch) whose messages are kept in order; waits on conditions, never on time. */
export class StreamRecorder {
  readonly messages: Message[] = [];
  readonly call: grpc.ClientReadableStream<Message>;
  readonly ended: Promise<grpc.StatusObject>;
  #waiters = new Set<() => void>();
  #status: grpc.StatusObject | null = null;

  constructor(client: grpc.Client, request: Message, metadata: grpc.Metadata, method = 'Subscribe') {
    this.call = (client as unknown as Record<string, Function>)[method]!.call(client, request, metadata);
    this.call.on('data', (message: Message) => {
      this.messages.push(withoutPresenceMarkers(message));
      this.#wake();
    });
    this.call.on('error', () => {});
    this.ended = new Promise((resolve) =>
      this.call.on('status', (status: grpc.StatusObject) => {
        this.#status = status;
        this.#wake();
        resolve(status);
      }),
    );
  }

  /** The messages carrying `member` of the response's oneof (`event`, `presence`, `list` ...). */
  of<T = Message>(member: string): T[] {
    return this.messages.flatMap((m) => (m[member] ? [m[member] as T] : []));
  }

  events(): EventMessage[] {
    return this.of<EventMessage>('event');
  }

  seqs(): number[] {
    return this.events().map((e) => e.seq);
  }

  /** Resolves with the command's result (`subscribed`), once catch-up is done and the stream is live. */
  async live<T = { channel: string; seq: number }>(): Promise<T> {
    await this.waitUntil(() => this.messages.some((m) => m.subscribed));
    return this.messages.find((m) => m.subscribed)!.subscribed as T;
  }

  waitUntil(check: () => unknown, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        if (check()) {
          this.#waiters.delete(attempt);
          clearTimeout(timer);
          resolve();
        } else if (this.#status) {
          this.#waiters.delete(attempt);
          clearTimeout(timer);
          reject(new Error(`stream ended with ${this.#status.code}: ${this.#status.details}`));
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(attempt);
        reject(new Error(`timed out; last messages: ${JSON.stringify(this.messages.slice(-2))}`));
      }, timeoutMs);
      this.#waiters.add(attempt);
      attempt();
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
