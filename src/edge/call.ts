import type { Session } from '../core/session.js';
import type { Principal } from '../core/types.js';

/** The wires a command can arrive on. */
export type Wire = 'ws' | 'http' | 'grpc' | 'sse' | 'pusher' | 'internal';

/** Who sends a command, over what, and on which live connection (if the wire has one). */
export interface Call {
  readonly principal: Principal;
  /** The caller's connection: /ws, a gRPC stream, SSE. Null for a REST request or a unary gRPC call. */
  readonly session: Session | null;
  readonly wire: Wire;
  /** What the app's subscribe hook attached to this subscription (shown in presence). */
  readonly hookInfo?: unknown;
}
