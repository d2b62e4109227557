import type { ClusterNotice } from './chat-notices.js';
import type { Session } from './session.js';
import type { Channel, ChannelEvent, ChannelId, EphemeralEvent, Member, UserId } from './types.js';

/**
 * Hooks for features built beside the hub (chat features, webhooks). Each is called after
 * the change took effect on this node, synchronously and never awaited: an observer that
 * needs the database starts its own work. A throwing observer is logged and ignored, so
 * a feature can never break the hub's path.
 */
export interface HubObserver {
  sessionOpened?(session: Session): void;
  sessionClosed?(session: Session): void;
  /** A new event was committed by this node (duplicates by `cid` are not reported). */
  published?(event: ChannelEvent): void;
  channelCreated?(channel: Channel): void;
  channelUpdated?(channel: Channel): void;
  channelDeleted?(channel: ChannelId): void;
  /** The channel's first subscriber on this node arrived (each node reports its own). */
  channelOccupied?(channel: ChannelId): void;
  /** The channel's last subscriber on this node left. */
  channelVacated?(channel: ChannelId): void;
  memberAdded?(member: Member): void;
  memberRemoved?(channel: ChannelId, user: UserId): void;
  /** A notice another node's chat features sent through the broker. */
  clusterNotice?(notice: ClusterNotice): void;
  /**
   * An ephemeral event that came through the broker: another node's, or the broker's own
   * clean-up after a node died (its sessions `leave`). Each node sees it once.
   */
  brokerEphemeral?(event: EphemeralEvent): void;
  /** A group commit finished: `size` appends in one transaction that took `millis` (operations). */
  committed?(size: number, millis: number): void;
  /**
   * A live event was handed to this node's subscribers: `recipients` counts them per
   * transport. Called once per event and node, never per socket (operations).
   */
  delivered?(event: ChannelEvent, recipients: ReadonlyMap<string, number>): void;
}
