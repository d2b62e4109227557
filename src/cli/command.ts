import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The option table of one command, as `node:util` `parseArgs` takes it. */
export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

/** What `parseArgs` returns for a command's options, typed by its table. */
export type CommandValues<O extends CommandOptions> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>['values'];

/**
 * One `switchboard` command: the words that name it, its help, its options and what it
 * does. A new command is one file that exports one of these and one line in
 * `commands.ts`; the entry point parses, dispatches and prints help for all of them.
 *
 * @example
 * export const pingCommand = defineCommand({
 *   name: 'ping', args: '', summary: 'say pong', help: '', options: {}, positionals: [0, 0],
 *   async run() { process.stdout.write('pong\n'); return 0; },
 * });
 */
export interface CliCommand<O extends CommandOptions = CommandOptions> {
  /** The words that select it: `serve`, `config check`. */
  readonly name: string;
  /** Its positional arguments as usage shows them: `FILE`, `[FILE]`, or empty. */
  readonly args: string;
  /** One line for `switchboard --help`. */
  readonly summary: string;
  /** The body of `switchboard <name> --help`, after the usage line. */
  readonly help: string;
  /** Its options; `--help` is added to every command. */
  readonly options: O;
  /** Fewest and most positional arguments it takes. */
  readonly positionals: readonly [min: number, max: number];
  /** Runs it; resolves with the process's exit code (0: done, 1: failed). */
  run(input: { readonly values: CommandValues<O>; readonly positionals: readonly string[] }): Promise<number>;
}

/** Types a command's `run` by its option table. */
export function defineCommand<const O extends CommandOptions>(command: CliCommand<O>): CliCommand<O> {
  return command;
}

/** A failure the user can act on: one sentence on stderr, exit code 1. */
export function fail(message: string): number {
  process.stderr.write(`switchboard: ${message}\n`);
  return 1;
}
