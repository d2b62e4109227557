import type { Auth } from '../auth/create-auth.js';
import type { Chat } from '../chat/chat.js';
import type { Hub } from '../core/hub.js';
import type { Logger } from '../core/logger.js';
import { CommandRegistry } from './command-registry.js';
import { authCommands } from './commands/auth-commands.js';
import { chatCommands } from './commands/chat-commands.js';
import { coreCommands } from './commands/core-commands.js';
import { CommandPipeline } from './pipeline.js';
import { RateBudget } from './rate-budget.js';

export interface EdgeOptions {
  readonly hub: Hub;
  /** The chat features; without them their commands answer `unavailable`. */
  readonly chat: Chat | null;
  readonly auth: Auth;
  readonly logger: Logger;
  /** Commands one user may send per second (and in a burst), over every wire together. */
  readonly limits: { readonly messagesPerSecond: number; readonly messageBurst: number };
}

/** What every wire is handed: the one pipeline, and the registry it runs (for parity checks). */
export interface Edge {
  readonly registry: CommandRegistry;
  readonly pipeline: CommandPipeline;
}

/**
 * The edge every wire shares: the command registry filled by each module, and the one
 * pipeline that runs a command for a caller. Built once per node by the composition root.
 */
export function createEdge(options: EdgeOptions): Edge {
  const registry = new CommandRegistry().add(coreCommands(options.hub)).add(authCommands(options.auth));
  if (options.chat) registry.add(chatCommands(options.chat));
  const budget = new RateBudget({ perSecond: options.limits.messagesPerSecond, burst: options.limits.messageBurst });
  return { registry, pipeline: new CommandPipeline({ registry, budget, logger: options.logger }) };
}
