import { describe, expect, it } from 'vitest';
import { isRetried } from '../client/src/command-retry.js';
import { COMMAND_NAMES, COMMANDS } from '../protocol/commands.js';

/**
 * The SDK keeps its own copy of which commands are safe to send again after a lost
 * connection, because importing protocol/commands.ts at run time would put zod in the
 * browser bundle. This keeps the copy equal to the protocol's contract, command by command.
 */
describe('client SDK: the retry table', () => {
  it('retries exactly the commands the protocol says are safe to retry', () => {
    const sdk = Object.fromEntries(COMMAND_NAMES.map((name) => [name, isRetried(name)]));
    const contract = Object.fromEntries(COMMAND_NAMES.map((name) => [name, COMMANDS[name].retry]));
    expect(sdk).toEqual(contract);
  });
});
