import { z } from 'zod';
import { publishPolicy, retention } from '../../protocol/values.js';

/** A namespace's name: the part of a channel id before its first `:`. */
export const NAMESPACE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** Prefixes that already mean something in a channel id (inboxes, DMs, the Pusher transport). */
export const RESERVED_NAMESPACES: readonly string[] = ['user', 'dm', 'pusher'];

/** A name in `hooks.backends` (config): the app backend a hook calls. */
export const HOOK_BACKEND_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Which backend decides subscribes and publishes in a set of channels (docs/backend-hooks.md). */
export const channelHooksSchema = z.strictObject({
  subscribe: z.string().regex(HOOK_BACKEND_NAME).optional().describe('Backend asked before a user subscribes; unset: no subscribe hook.'),
  publish: z.string().regex(HOOK_BACKEND_NAME).optional().describe('Backend asked before a user publishes (it may refuse or rewrite); unset: no publish hook.'),
});

export type ChannelHooksConfig = z.output<typeof channelHooksSchema>;

/**
 * The options of one namespace: every channel `name:rest` takes them (Centrifugo's
 * namespaces). Each field documents its default, which is what a channel without a
 * namespace gets. Extend it here (a module's own options belong in its own section).
 */
export const namespaceSchema = z.strictObject({
  retention: retention
    .default({ mode: 'durable' })
    .describe('What channels keep of their log: `{"mode":"durable"}` (default, optionally `maxAge` seconds and/or `maxCount`), `{"mode":"memory","maxCount":N}`, `{"mode":"none"}`.'),
  presence: z.boolean().default(true).describe('Announce subscribers (join/leave frames, the presence list); false: nobody is shown.'),
  autoCreate: z
    .boolean()
    .default(false)
    .describe('Create a channel the first time anyone publishes to, subscribes to, streams or reads it; false: only `channel.create` makes channels.'),
  channelType: z.enum(['public', 'private']).default('public').describe('The type of channels made on demand (autoCreate); a user who makes one owns it.'),
  publish: publishPolicy
    .nullable()
    .default(null)
    .describe('Who may publish in channels made on demand; null: anyone in public channels, members in private ones.'),
  maxSubscribers: z.number().int().positive().nullable().default(null).describe('Subscribers one channel may have on a node; one more gets `too_many_subscriptions`. Null: no limit.'),
  hooks: channelHooksSchema
    .default(() => ({}))
    .describe("The app backends (names in hooks.backends) asked about users' subscribes and publishes in this namespace; `{}`: none, whatever hooks.channelDefault says."),
});

export type NamespaceConfig = z.output<typeof namespaceSchema>;

/** `namespaces` in the config file: options by namespace name. */
export const namespacesSchema = z
  .record(z.string(), namespaceSchema)
  .superRefine((namespaces, context) => {
    for (const name of Object.keys(namespaces)) {
      const problem = namespaceNameProblem(name);
      if (problem) context.addIssue({ code: 'custom', message: problem, path: [name] });
    }
  })
  .default(() => ({}))
  .describe('Channel options by namespace: a channel `ns:rest` takes those of namespace `ns` (docs/configuration.md#namespaces).');

function namespaceNameProblem(name: string): string | null {
  if (RESERVED_NAMESPACES.includes(name)) return `${RESERVED_NAMESPACES.join(', ')} are not namespaces: those prefixes are reserved`;
  return NAMESPACE_NAME.test(name) ? null : 'a namespace name is 1-32 lowercase letters, digits, `_` or `-`';
}
