#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { CliCommand, CommandOptions } from './cli/command.js';
import { fail } from './cli/command.js';
import { COMMANDS } from './cli/commands.js';
import { packageVersion } from './package-root.js';

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

function usage(command: CliCommand): string {
  return `switchboard ${command.name}${command.args ? ` ${command.args}` : ''}`;
}

/** Aligned `usage  summary` lines. */
function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}\n`).join('');
}

function commandRows(commands: readonly CliCommand[]): (readonly [string, string])[] {
  return commands.map((command) => [usage(command), command.summary]);
}

const HELP = `switchboard: a self-hosted real-time chat and push server

Usage:
${table([...commandRows(COMMANDS), ['switchboard --version', 'print the version']])}
\`switchboard <command> --help\` describes a command and its options.
`;

/**
 * Picks the command named by the leading words of argv (`config check x.json` is
 * `config check` with `x.json`), parses the rest with that command's options, and runs it.
 * Resolves with the exit code.
 */
async function main(argv: readonly string[]): Promise<number> {
  const words: string[] = [];
  for (const arg of argv) {
    if (arg.startsWith('-')) break;
    words.push(arg);
  }
  const command = [...COMMANDS]
    .sort((a, b) => b.name.length - a.name.length)
    .find((candidate) => candidate.name.split(' ').every((word, i) => words[i] === word));

  if (!command) {
    const group = words.length > 0 ? COMMANDS.filter((c) => c.name.split(' ')[0] === words[0]) : [];
    if (group.length > 0 && words.length === 1) return groupHelp(words[0]!, group, argv.slice(1));
    if (words.length > 0) return fail(`Unknown command "${words.join(' ')}". See switchboard --help.`);
    return topLevel(argv);
  }

  const rest = argv.slice(command.name.split(' ').length);
  const parsed = parse(rest, { ...command.options, ...HELP_OPTION }, `switchboard ${command.name} --help`);
  if (typeof parsed === 'number') return parsed;
  if (parsed.values.help) {
    process.stdout.write(`Usage: ${usage(command)}${Object.keys(command.options).length > 0 ? ' [options]' : ''}\n\n${command.help}`);
    return 0;
  }
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const extra = parsed.positionals.length > max ? `Unexpected argument "${parsed.positionals[max]}"` : `Missing ${command.args}`;
    return fail(`${extra}. Usage: ${usage(command)}.`);
  }
  return command.run({ values: parsed.values, positionals: parsed.positionals });
}

/** Parses argv by an option table; on a mistake, says which in one sentence and returns 1. */
function parse(args: readonly string[], options: CommandOptions, help: string, allowPositionals = true) {
  const { tokens } = parseArgs({ args: [...args], allowPositionals: true, strict: false, tokens: true, options });
  const unknown = tokens.find((token) => token.kind === 'option' && !(token.name in options));
  if (unknown?.kind === 'option') return fail(`Unknown option "${unknown.rawName}". See ${help}.`);
  try {
    return parseArgs({ args: [...args], allowPositionals, strict: true, options });
  } catch (error) {
    return fail(`${(error as Error).message}. See ${help}.`);
  }
}

/** `switchboard`, `switchboard --help`, `switchboard --version`. */
function topLevel(argv: readonly string[]): number {
  const parsed = parse(argv, { ...HELP_OPTION, version: { type: 'boolean' } }, 'switchboard --help', false);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (values.version) {
    process.stdout.write(`switchboard ${packageVersion()} (Node.js ${process.version})\n`);
    return 0;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  process.stderr.write(HELP);
  return 1;
}

/** `switchboard config` (--help): the commands under one word. */
function groupHelp(word: string, group: readonly CliCommand[], rest: readonly string[]): number {
  const text = `Usage:\n${table(commandRows(group))}\n\`switchboard ${word} <command> --help\` describes each.\n`;
  if (rest.length === 1 && (rest[0] === '--help' || rest[0] === '-h')) {
    process.stdout.write(text);
    return 0;
  }
  if (rest.length > 0) return fail(`Unknown option "${rest[0]}" for switchboard ${word}. See switchboard ${word} --help.`);
  process.stderr.write(text);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A finished command exits even if a library left a handle open (a stopped node's
    // driver, say); unref'd, so output still flushes and a clean exit is not delayed.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`switchboard: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
