import { COMMAND_NAMES, type CommandInput, type CommandName, type CommandResult } from '../../protocol/commands.js';
import type { Hub } from '../core/hub.js';
import type { Call } from './call.js';

/** Runs one command for a caller; the input is already validated against the protocol. */
export type Handler<N extends CommandName> = (call: Call, input: CommandInput<N>) => Promise<Reply<CommandResult<N>>>;

/** A result as handlers may hand it over: the protocol's shape, with read-only arrays and fields accepted. */
export type Reply<T> = T extends readonly (infer U)[]
  ? readonly Reply<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Reply<T[K]> }
    : T;

/** A module's handlers: the commands it serves. */
export type Handlers = { readonly [N in CommandName]?: Handler<N> };

/**
 * A module whose commands need the node's hub beyond what they were built with (auth:
 * ending a refreshed or banned user's sessions, hearing bans made on other nodes).
 * `createEdge` registers its commands and hands it the hub once, at start-up.
 */
export interface EdgeModule {
  readonly commands: Handlers;
  attach(hub: Hub): void;
}

/**
 * Which module serves each command. Modules add their handlers at start-up (core, chat,
 * auth); a command is served by exactly one, and one with no handler on this node (chat
 * features off) answers `unavailable`.
 *
 * @example
 *   const registry = new CommandRegistry().add(coreCommands(hub)).add(chatCommands(chat));
 */
export class CommandRegistry {
  readonly #handlers = new Map<CommandName, Handler<CommandName>>();

  add(handlers: Handlers): this {
    for (const name of Object.keys(handlers) as CommandName[]) {
      if (this.#handlers.has(name)) throw new Error(`Command ${name} has two handlers.`);
      this.#handlers.set(name, handlers[name] as Handler<CommandName>);
    }
    return this;
  }

  handler<N extends CommandName>(name: N): Handler<N> | undefined {
    return this.#handlers.get(name) as Handler<N> | undefined;
  }

  /** The protocol's commands this node has no handler for. */
  get unserved(): CommandName[] {
    return COMMAND_NAMES.filter((name) => !this.#handlers.has(name));
  }
}
