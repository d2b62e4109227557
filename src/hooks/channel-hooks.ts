import type { ChannelId } from '../core/types.js';
import type { ChannelHooksConfig, NamespaceConfig } from '../namespaces/namespace-config.js';

/** Which backend (by name) a channel's subscribe and publish hooks call. */
export type ChannelHooksOf = (channel: ChannelId) => ChannelHooksConfig;

/**
 * A channel `ns:rest` takes namespace `ns`'s `hooks` when `namespaces.ns` exists (even an
 * empty one: a configured namespace says what it wants); any other channel takes
 * `hooks.channelDefault`. The same rule as every other namespace option.
 */
export function channelHooksOf(namespaces: Readonly<Record<string, NamespaceConfig>>, channelDefault: ChannelHooksConfig): ChannelHooksOf {
  return (channel) => {
    const colon = channel.indexOf(':');
    const name = colon > 0 ? channel.slice(0, colon) : null;
    return name !== null && Object.hasOwn(namespaces, name) ? namespaces[name]!.hooks : channelDefault;
  };
}

/** Whether any channel can have a subscribe or publish hook (else the pipeline skips the step). */
export function anyChannelHooks(namespaces: Readonly<Record<string, NamespaceConfig>>, channelDefault: ChannelHooksConfig): boolean {
  return [channelDefault, ...Object.values(namespaces).map((namespace) => namespace.hooks)].some((hooks) => hooks.subscribe ?? hooks.publish);
}
