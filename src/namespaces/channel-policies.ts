import { type ChannelOptions, type ChannelPolicies, DEFAULT_POLICIES } from '../core/channel-options.js';
import type { ChannelId } from '../core/types.js';
import type { NamespaceConfig } from './namespace-config.js';

/**
 * The channel options core reads, from the config's namespaces: `ns:rest` takes namespace
 * `ns`'s; a channel without a namespace, or of one not configured, today's defaults.
 */
export function channelPolicies(namespaces: Readonly<Record<string, NamespaceConfig>>): ChannelPolicies {
  const byName = new Map<string, ChannelOptions>();
  for (const [name, config] of Object.entries(namespaces)) byName.set(name, optionsOf(config));
  if (byName.size === 0) return DEFAULT_POLICIES;
  const boundedPrefixes = Object.entries(namespaces)
    .filter(([, { retention }]) => retention.mode === 'durable' && (retention.maxAge !== undefined || retention.maxCount !== undefined))
    .map(([name]) => `${name}:`);
  return {
    optionsFor(id: ChannelId): ChannelOptions {
      const colon = id.indexOf(':');
      return (colon > 0 && byName.get(id.slice(0, colon))) || DEFAULT_POLICIES.optionsFor(id);
    },
    boundedPrefixes,
  };
}

function optionsOf(config: NamespaceConfig): ChannelOptions {
  return Object.freeze({
    retention: Object.freeze({ ...config.retention }),
    presence: config.presence,
    autoCreate: config.autoCreate
      ? { type: config.channelType, publish: config.publish ?? (config.channelType === 'public' ? 'anyone' : 'members') }
      : null,
    maxSubscribers: config.maxSubscribers,
  });
}
