import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { expect, onTestFinished } from 'vitest';
import { PROXY_LOADER_OPTIONS, PROXY_PROTO } from '../../src/hooks/grpc-backend.js';
import { Waiters } from './waiters.js';

export type HookName = 'connect' | 'refresh' | 'subscribe' | 'publish' | 'rpc';
/** What the test's backend answers: a result, an error, or no answer at all (a hang). */
export type Answer = { result: Record<string, unknown> } | { error: { code: string; message: string } } | 'hang';
export type Decide = (hook: HookName, request: Record<string, unknown>) => Answer;

export interface ReceivedCall {
  readonly hook: HookName;
  readonly request: Record<string, unknown>;
  /** HTTP only: whether X-Switchboard-Signature verified with the algorithm docs/backend-hooks.md gives. */
  readonly signed?: boolean;
}

export interface TestBackend {
  /** What config `hooks.backends.<name>` needs to reach it. */
  readonly settings: { http: { url: string; secret: string } } | { grpc: { address: string } };
  readonly calls: ReceivedCall[];
  decide: Decide;
  waitForCall(check: (call: ReceivedCall) => boolean): Promise<ReceivedCall>;
  /** Stops answering: the address refuses connections from now on. */
  stop(): Promise<void>;
}

export const HOOK_SECRET = 'hook-secret-for-tests-0123456789';
const GRPC_METHODS: Record<string, HookName> = { Connect: 'connect', Refresh: 'refresh', Subscribe: 'subscribe', Publish: 'publish', RPC: 'rpc' };

/** docs/backend-hooks.md's verification, written out as a backend would: HMAC-SHA256 over `<timestamp>.<raw body>`. */
export function verifySignature(secret: string, rawBody: string, timestamp: string | undefined, signature: string | undefined): boolean {
  if (timestamp === undefined || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from('v1=' + createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex'));
  const given = Buffer.from(signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function recorder(decide: Decide) {
  const waiters = new Waiters();
  const calls: ReceivedCall[] = [];
  const state = {
    calls,
    decide,
    record(call: ReceivedCall) {
      calls.push(call);
      waiters.wake();
    },
    waitForCall: (check: (call: ReceivedCall) => boolean) =>
      waiters.until(() => calls.find(check), 10_000, () => `no such hook call; calls: ${JSON.stringify(calls.map((c) => c.hook))}`),
  };
  return state;
}

/** A real HTTP backend on a free port, closed after the test: plain node:http, as docs/backend-hooks.md's example. */
export async function startHttpBackend(decide: Decide): Promise<TestBackend> {
  const state = recorder(decide);
  const hanging = new Set<() => void>();
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const hook = (request.url ?? '').slice(1) as HookName;
      const signed = verifySignature(HOOK_SECRET, body, header(request.headers['x-switchboard-timestamp']), header(request.headers['x-switchboard-signature']));
      const payload = JSON.parse(body) as Record<string, unknown>;
      state.record({ hook, request: payload, signed });
      if (!signed) {
        response.writeHead(401).end();
        return;
      }
      const answer = state.decide(hook, payload);
      if (answer === 'hang') {
        hanging.add(() => response.destroy());
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const end of hanging) end();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  onTestFinished(stop);
  return handle(state, { http: { url: `http://127.0.0.1:${port}`, secret: HOOK_SECRET } }, stop);
}

/** A real gRPC backend implementing switchboard.proxy.v1.SwitchboardProxy (proto/proxy.proto), closed after the test. */
export async function startGrpcBackend(decide: Decide): Promise<TestBackend> {
  const state = recorder(decide);
  const definition = grpc.loadPackageDefinition(loadSync(PROXY_PROTO, PROXY_LOADER_OPTIONS)) as never;
  const service = (definition['switchboard']['proxy']['v1']['SwitchboardProxy'] as { service: grpc.ServiceDefinition }).service;
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, hook] of Object.entries(GRPC_METHODS)) {
    implementation[method] = ((call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const request = fromProto(call.request);
      state.record({ hook, request });
      const answer = state.decide(hook, request);
      if (answer === 'hang') return;
      callback(null, 'error' in answer ? { error: answer.error } : { result: toProto(answer.result) });
    }) as grpc.handleUnaryCall<unknown, unknown>;
  }
  const server = new grpc.Server();
  server.addService(service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    server.forceShutdown();
  };
  onTestFinished(stop);
  return handle(state, { grpc: { address: `127.0.0.1:${port}` } }, stop);
}

function handle(state: ReturnType<typeof recorder>, settings: TestBackend['settings'], stop: () => Promise<void>): TestBackend {
  return {
    settings,
    get calls() {
      return state.calls;
    },
    get decide() {
      return state.decide;
    },
    set decide(next: Decide) {
      state.decide = next;
    },
    waitForCall: state.waitForCall,
    stop,
  };
}

/** JSON fields travel as bytes (proxy.proto). */
function fromProto(message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    out[key] = Buffer.isBuffer(value) ? (value.length === 0 ? null : JSON.parse(value.toString('utf8'))) : value;
  }
  return out;
}

function toProto(result: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) {
    out[key] = key === 'data' || key === 'info' ? Buffer.from(JSON.stringify(value)) : value;
  }
  return out;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A call that should time out, timed from its start (see timeoutClock). */
export interface TimeoutClock {
  readonly ms: number;
  readonly started: number;
  /** When a timer of `ms` set at the start really fired. */
  readonly fired: Promise<number>;
}

/**
 * Starts the clock for a call that should time out after `ms`: the answer must come no
 * sooner, and within 100 ms of when a timer of that length, set now in this process (where
 * the server runs), actually fires. On a loaded machine timers fire late for the server and
 * this reference alike; what is checked is that nothing waits beyond the timer.
 */
export function timeoutClock(ms: number): TimeoutClock {
  const started = performance.now();
  const fired = new Promise<number>((resolve) => setTimeout(() => resolve(performance.now()), ms));
  return { ms, started, fired };
}

export async function expectAnsweredAtTimeout(clock: TimeoutClock): Promise<void> {
  const answered = performance.now();
  expect(answered - clock.started).toBeGreaterThanOrEqual(clock.ms - 5);
  expect(answered - (await clock.fired)).toBeLessThanOrEqual(100);
}
