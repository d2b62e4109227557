import type { Channel, ChannelId, PublishPolicy, Retention } from './types.js';

/**
 * What a channel's namespace decides for it (config `namespaces`, src/namespaces): core
 * reads it through `ChannelPolicies` and never the config itself.
 */
export interface ChannelOptions {
  /** The retention of channels that did not choose their own at creation. */
  readonly retention: Retention;
  /** Whether subscribers are announced (join/leave frames, the presence list). */
  readonly presence: boolean;
  /** Created on first use (publish, subscribe, a stream) with this type and policy; null: only by `channel.create`. */
  readonly autoCreate: { readonly type: 'public' | 'private'; readonly publish: PublishPolicy } | null;
  /** Subscribers a channel may have on one node; null: no limit beyond the per-connection ones. */
  readonly maxSubscribers: number | null;
}

export interface ChannelPolicies {
  optionsFor(id: ChannelId): ChannelOptions;
  /** Id prefixes (`ns:`) whose durable channels are bounded by age or count: where the pruner looks. */
  readonly boundedPrefixes: readonly string[];
}

export const DURABLE: Retention = Object.freeze({ mode: 'durable' });

/** Today's defaults: every channel durable, announced, created only on request, unlimited. */
export const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = Object.freeze({
  retention: DURABLE,
  presence: true,
  autoCreate: null,
  maxSubscribers: null,
});

export const DEFAULT_POLICIES: ChannelPolicies = Object.freeze({
  optionsFor: () => DEFAULT_CHANNEL_OPTIONS,
  boundedPrefixes: [],
});

/** The channel's retention: chosen at creation, else its namespace's. */
export function retentionOf(channel: Channel, policies: ChannelPolicies): Retention {
  return channel.retention ?? policies.optionsFor(channel.id).retention;
}

/** Whether events of this retention stay out of the database. */
export function isVolatile(retention: Retention): boolean {
  return retention.mode !== 'durable';
}

/** A memory ring's size when none is given. */
export const DEFAULT_RING = 100;

/** Events a volatile channel keeps: its ring, or none. */
export function ringSize(retention: Retention): number {
  return retention.mode === 'memory' ? (retention.maxCount ?? DEFAULT_RING) : 0;
}
