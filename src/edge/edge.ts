import type { Hub } from '../core/hub.js';
import type { Logger } from '../core/logger.js';
import { CommandRegistry, type EdgeModule, type Handlers } from './command-registry.js';
import { coreCommands } from './core-commands.js';
import type { CommandHooks } from './hook-step.js';
import { CommandPipeline } from './pipeline.js';
import { RateBudget } from './rate-budget.js';

export interface EdgeOptions {
  readonly hub: Hub;
  /**
   * The modules beside core (chat, auth ...): each serves its own commands, given as its
   * handlers, or as an EdgeModule that is also handed the hub.
   */
  readonly modules: readonly (Handlers | EdgeModule)[];
  readonly logger: Logger;
  /** Commands one user may send per second (and in a burst), over every wire together. */
  readonly limits: { readonly messagesPerSecond: number; readonly messageBurst: number };
  /** The app backend's hooks, a step of the pipeline (src/hooks); absent: none. */
  readonly hooks?: CommandHooks | null;
}

/** What every wire is handed: the one pipeline, and the registry it runs (for parity checks). */
export interface Edge {
  readonly registry: CommandRegistry;
  readonly pipeline: CommandPipeline;
}

/**
 * The edge every wire shares: the command registry filled by core and each module, and
 * the one pipeline that runs a command for a caller. Built once per node by the
 * composition root.
 *
 * @example
 *   const edge = createEdge({ hub, modules: [chatCommands(chat), authCommands(auth)], logger, limits });
 */
export function createEdge(options: EdgeOptions): Edge {
  const registry = new CommandRegistry().add(coreCommands(options.hub));
  for (const module of options.modules) {
    if (isEdgeModule(module)) {
      registry.add(module.commands);
      module.attach(options.hub);
    } else {
      registry.add(module);
    }
  }
  const budget = new RateBudget({ perSecond: options.limits.messagesPerSecond, burst: options.limits.messageBurst });
  return { registry, pipeline: new CommandPipeline({ registry, budget, logger: options.logger, hooks: options.hooks ?? null }) };
}

function isEdgeModule(module: Handlers | EdgeModule): module is EdgeModule {
  // No command is named `commands`: a Handlers object never has the key.
  return 'commands' in module;
}
