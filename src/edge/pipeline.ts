import { COMMANDS, type CommandName, type CommandResult, isCommandName } from '../../protocol/commands.js';
import { SwitchboardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Principal } from '../core/types.js';
import type { Call } from './call.js';
import type { CommandRegistry, Handler } from './command-registry.js';
import type { CommandHooks } from './hook-step.js';
import type { RateBudget } from './rate-budget.js';
import { parseInput } from './validation.js';

export interface RunOptions {
  /** false: do not charge the caller's budget (see `run`). */
  readonly charge?: boolean;
}

export interface PipelineOptions {
  readonly registry: CommandRegistry;
  /** The per-user budget every wire shares; null: no limit (tests, benchmarks). */
  readonly budget: RateBudget | null;
  readonly logger: Logger;
  /** The app backend's hooks (subscribe, publish ...); null: none set up. */
  readonly hooks?: CommandHooks | null;
}

/**
 * The one path every command takes, whatever wire brought it: look it up, check who may
 * call it and whether it needs a connection, validate the input against the protocol,
 * charge the caller's budget, ask the app's backend when a hook applies, run the handler. The wire has authenticated the caller
 * before and encodes the result after. Errors are SwitchboardErrors; anything else is a
 * bug, logged here once and answered `internal`.
 *
 * @example
 *   const result = await pipeline.run('publish', { channel: 'general', text: 'hi' }, { principal, session, wire: 'ws' });
 */
export class CommandPipeline {
  readonly #registry: CommandRegistry;
  readonly #budget: RateBudget | null;
  readonly #logger: Logger;
  readonly #hooks: CommandHooks | null;

  constructor(options: PipelineOptions) {
    this.#hooks = options.hooks ?? null;
    this.#registry = options.registry;
    this.#budget = options.budget;
    this.#logger = options.logger;
  }

  /**
   * `charge: false` runs a command the caller already paid for in an earlier step (SSE
   * charges each channel's look-up, made while a refusal can still be an HTTP status, and
   * then subscribes for free): one unit per channel, whatever the wire.
   */
  run<N extends CommandName>(name: N, input: unknown, call: Call, options?: RunOptions): Promise<CommandResult<N>>;
  run(name: string, input: unknown, call: Call, options?: RunOptions): Promise<unknown>;
  async run(name: string, input: unknown, call: Call, options: RunOptions = {}): Promise<unknown> {
    // A session's principal moves on when it is refreshed; the wire's copy is the first one.
    if (call.session !== null && call.session.principal !== call.principal) call = { ...call, principal: call.session.principal };
    assertUnexpired(call.principal);
    const admitted = this.#admit(name, input, call.principal);
    const handler = admitted.handler;
    let parsed = admitted.input;
    if (COMMANDS[name as CommandName].session === 'required' && call.session === null) {
      throw new SwitchboardError('bad_request', `${name} acts on a live connection: send it over /ws or a gRPC stream.`);
    }
    if (options.charge !== false) this.#budget?.charge(call.principal, costOf(name as CommandName, parsed));
    // The backend's say: most commands have no hook and go on without an await.
    const hooked = this.#hooks?.before(name as CommandName, parsed, call);
    if (hooked) {
      const verdict = await hooked;
      parsed = verdict.input;
      if (verdict.info !== undefined) call = { ...call, hookInfo: verdict.info };
    }
    try {
      return await handler(call, parsed as never);
    } catch (error) {
      if (error instanceof SwitchboardError) throw error;
      this.#logger.error({ err: error, command: name, wire: call.wire }, 'command failed');
      throw new SwitchboardError('internal');
    }
  }

  /**
   * The checks `run` makes before anything happens: the command exists and is served, the
   * caller may send it, the input is valid. A wire that opens a session for a command (a
   * gRPC stream) asks first, so a refused call never shows its user online.
   */
  check(name: string, input: unknown, principal: Principal): void {
    this.#admit(name, input, principal);
  }

  #admit(name: string, input: unknown, principal: Principal): { handler: Handler<CommandName>; input: unknown } {
    if (!isCommandName(name)) throw new SwitchboardError('unknown_command', `Unknown command "${name.slice(0, 64)}".`);
    const contract = COMMANDS[name];
    const handler = this.#registry.handler(name);
    if (!handler) throw new SwitchboardError('unavailable', `This server does not serve ${name}.`);
    checkCaller(name, contract.caller, principal);
    return { handler, input: parseInput(contract.input, input) };
  }
}

/**
 * A credential past its expiry sends nothing more. The hub ends such a session at that
 * moment; this covers a command that arrives in between (one comparison per command).
 */
function assertUnexpired(principal: Principal): void {
  const { expiresAt } = principal;
  if (expiresAt !== undefined && expiresAt <= Date.now()) {
    throw new SwitchboardError('unauthorized', 'The token expired.', { expiredAt: expiresAt });
  }
}

function checkCaller(name: CommandName, caller: 'any' | 'user' | 'server', principal: Principal): void {
  if (caller === 'user' && principal.kind !== 'user') {
    throw new SwitchboardError('bad_request', `${name} is made by a user, not with an API key.`);
  }
  if (caller === 'server' && principal.kind !== 'server') {
    throw new SwitchboardError('forbidden', "Only the app's backend (an API key) may do this.");
  }
}

/** What a command takes from the caller's budget: a batch costs one per message. */
function costOf(name: CommandName, input: unknown): number {
  return name === 'publish.batch' ? (input as { messages: unknown[] }).messages.length : 1;
}
