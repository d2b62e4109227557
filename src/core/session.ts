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
  /**
   * Ends the connection with a WebSocket-style close code, after what was delivered before
   * (a ban, an expired credential, an administrator): /ws closes with the code, SSE ends
   * the stream, gRPC ends the call with the code's status. A sink without it is only
   * disconnected from the hub.
   */
  close?(code: number, reason: string): void;
  /** Bytes waiting to be written to the client, for the send-queue gauge. */
  readonly queuedBytes?: number;
}

/** One connection of a user. A user may have many sessions at once. */
export interface Session {
  readonly id: SessionId;
  /** Who the session acts for; a refresh (`auth.refresh`) replaces it with the same user's newer credential. */
  readonly principal: Principal;
  readonly transport: string;
  readonly sink: SessionSink;
  readonly channels: ReadonlySet<ChannelId>;
  /** True once the session ended: a step that awaited may find it so. */
  readonly closed: boolean;
}
