import type { Delivery } from './delivery.js';
import type { ChannelId, Principal, SessionId } from './types.js';

/** How the hub hands messages to one connected client. Implemented by each transport. */
export interface SessionSink {
  /** Queue a message for the client. Must not throw. */
  deliver(delivery: Delivery): void;
  /**
   * Null while the client's outbound queue has room; otherwise resolves when it has room
   * again (flow control for catch-up, which checks after every event).
   */
  whenWritable?(): Promise<void> | null;
  /** Ends the connection with a WebSocket-style close code (admin actions); transports that cannot end the session leave it out. */
  close?(code: number, reason: string): void;
  /** Bytes waiting to be written to the client, for the send-queue gauge. */
  readonly queuedBytes?: number;
}

/** One connection of a user. A user may have many sessions at once. */
export interface Session {
  readonly id: SessionId;
  readonly principal: Principal;
  readonly transport: string;
  readonly sink: SessionSink;
  readonly channels: ReadonlySet<ChannelId>;
}
