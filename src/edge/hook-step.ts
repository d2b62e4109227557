import type { Credentials } from '../auth/authenticator.js';
import { SwitchboardError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { CommandName } from '../../protocol/commands.js';
import type { Call, Wire } from './call.js';

/**
 * The app backend's say in a command (subscribe, publish ...): the pipeline's hooks step,
 * after validation and the budget and before the handler. src/hooks implements it over
 * HTTP and gRPC; the edge knows only this shape.
 */
export interface CommandHooks {
  /**
   * Null when no hook applies (most commands, every API-key caller): the pipeline goes on
   * without awaiting. Otherwise resolves with what the handler gets, or rejects with the
   * backend's refusal (or `unavailable`).
   */
  before(name: CommandName, input: unknown, call: Call): Promise<HookVerdict> | null;
}

export interface HookVerdict {
  /** The input the handler runs with: the client's, or the backend's rewrite (publish). */
  readonly input: unknown;
  /** What the backend attached to a subscription (shown in presence). */
  readonly info?: unknown;
}

/**
 * A message of a `publish.batch` the backend refused: the hook step puts it in the
 * message's place, and the batch answers that message with the refusal, the others as
 * usual (each message of a batch succeeds or fails on its own).
 */
export interface RefusedMessage {
  readonly refused: SwitchboardError;
}

export function isRefusedMessage(message: unknown): message is RefusedMessage {
  return typeof message === 'object' && message !== null && (message as Partial<RefusedMessage>).refused instanceof SwitchboardError;
}

/**
 * The subscribe hook asked directly, by a wire that decides its subscriptions itself
 * (Pusher apps that opted in: `pusher.apps[].subscribeHook`). Resolves with the backend's
 * info, or rejects with its refusal (or `unavailable`).
 */
export type SubscribeAsk = (request: {
  readonly transport: Wire;
  readonly user: string | null;
  readonly session: string;
  readonly channel: string;
}) => Promise<{ readonly info?: unknown }>;

/** A connection opening, as its wire saw it: what the connect hook is shown. */
export interface ConnectionRequest {
  readonly wire: Wire;
  /** What the client presented; empty when it left the decision to the connect hook. */
  readonly credentials: Credentials;
  /** A request header by lower-case name (the upgrade request, the SSE request, gRPC metadata). */
  header(name: string): string | undefined;
  /** The `data` of the auth frame (/ws), undefined elsewhere. */
  readonly data?: unknown;
}

/** Decides who a new connection is (the connect hook); the edge's `admit` calls it. */
export interface ConnectHook {
  /**
   * `principal`: what the credentials proved, or null when none were presented. Resolves
   * with the connection's principal (user, name, info, channels, expiry) or rejects with
   * the backend's refusal.
   */
  connect(request: ConnectionRequest, principal: Principal | null): Promise<Principal>;
}
