import type { z } from 'zod';
import { SwitchboardError } from '../core/errors.js';

/**
 * Parses a command's input with its protocol schema, or throws `bad_request` naming the
 * first field that failed, in the protocol's own field names, alike on every wire:
 * "Invalid channel: a channel id is 1-128 of ...".
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : 'request';
  // A schema may name a more precise code for its refusal (data over the size limit).
  const code = issue.code === 'custom' && issue.params?.errorCode === 'too_large' ? 'too_large' : 'bad_request';
  throw new SwitchboardError(code, `Invalid ${where}: ${issue.message}.`);
}
