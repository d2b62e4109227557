import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { HttpMethod, RestRoute } from '../../../protocol/bindings.js';
import { SwitchboardError } from '../../core/errors.js';

/** The `:name` segments of a route's path: the input fields it carries. */
export function pathFields(path: string): string[] {
  return [...path.matchAll(/:(\w+)/g)].map((match) => match[1]!);
}

/** GET and DELETE take their input from the query string, the other methods from a JSON body. */
export function takesBody(method: HttpMethod): boolean {
  return method !== 'GET' && method !== 'DELETE';
}

/** The fields of an input schema (none when the input is not an object). */
export function shapeOf(schema: z.ZodType): Readonly<Record<string, z.ZodType>> {
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
}

/**
 * A REST request as a command's raw input: the path's `:field` segments plus the query
 * (GET, DELETE) or the JSON body (the others). Path and query arrive as text, so numbers,
 * booleans and arrays (`seqs=41,42`, or `seqs=41&seqs=42`) are turned back into what the
 * input schema asks for; anything else is left as sent, for the pipeline to validate.
 *
 * @example
 *   restInput(COMMANDS['reactions.get'].input, BINDINGS['reactions.get'].rest, request)
 *   // GET /api/channels/general/reactions?seqs=41,42 -> { channel: 'general', seqs: [41, 42] }
 */
export function restInput(
  schema: z.ZodType,
  route: RestRoute,
  request: Pick<FastifyRequest, 'params' | 'query' | 'body'>,
): Record<string, unknown> {
  const fields = shapeOf(schema);
  const fromText = (entries: unknown): [string, unknown][] =>
    Object.entries((entries ?? {}) as Record<string, string | string[]>).map(([key, value]) => [key, textValue(fields[key], value)]);
  let input: Record<string, unknown>;
  if (takesBody(route.method)) {
    const body: unknown = request.body;
    if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
      throw new SwitchboardError('bad_request', 'Invalid request: send the body as a JSON object.');
    }
    input = { ...(body as object | undefined) };
  } else {
    input = Object.fromEntries(fromText(request.query));
  }
  for (const [key, value] of fromText(request.params)) {
    if (Object.hasOwn(input, key)) {
      throw new SwitchboardError('bad_request', `Invalid ${key}: it is given in the path; leave it out of the ${takesBody(route.method) ? 'body' : 'query'}.`);
    }
    input[key] = value;
  }
  return input;
}

const NUMBER = /^-?\d+(\.\d+)?$/;

function textValue(schema: z.ZodType | undefined, value: string | string[]): unknown {
  const base = schema && unwrap(schema);
  if (base instanceof z.ZodArray) {
    return (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',')).map((item) => textValue(base.element as z.ZodType, item));
  }
  // A repeated parameter where one value is expected: the pipeline refuses the array.
  if (Array.isArray(value)) return value;
  if (base instanceof z.ZodNumber) return NUMBER.test(value) ? Number(value) : value;
  if (base instanceof z.ZodBoolean) return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

function unwrap(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault) {
    return unwrap(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return unwrap(schema.in as z.ZodType);
  return schema;
}
