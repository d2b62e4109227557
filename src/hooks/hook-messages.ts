import { z } from 'zod';
import { CHANNEL_ID_PATTERN, USER_ID_PATTERN } from '../core/names.js';

/** The hooks, named as the HTTP paths (`<url>/<hook>`) and metrics label them. */
export type HookName = 'connect' | 'refresh' | 'subscribe' | 'publish' | 'rpc';

/**
 * What the backend answers, on either transport: a result, or an error whose code and
 * message reach the client. JSON over HTTP; the gRPC backend's replies are read into it.
 */
export interface HookReply {
  readonly result?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

export const hookReply = z.object({
  result: z.unknown().optional(),
  error: z.object({ code: z.string().min(1).max(64), message: z.string().max(1000) }).optional(),
});

const millis = z.number().int().positive();

/** Each hook's result, checked before Switchboard acts on it (the backend is outside the server). */
export const HOOK_RESULTS = {
  connect: z.object({
    user: z.string().regex(USER_ID_PATTERN, 'a user id is 1-64 of A-Z a-z 0-9 _ . @ -'),
    name: z.string().min(1).max(200).optional(),
    info: z.unknown().optional(),
    channels: z.array(z.string().regex(CHANNEL_ID_PATTERN, 'not a channel id')).max(100).optional(),
    expiresAt: millis.optional(),
  }),
  refresh: z.object({ expiresAt: millis, info: z.unknown().optional() }),
  subscribe: z.object({ info: z.unknown().optional() }),
  publish: z.object({ text: z.string().nullable().optional(), data: z.unknown().optional() }),
  rpc: z.object({ data: z.unknown().optional() }),
} as const satisfies Record<HookName, z.ZodType>;

export type HookResult<H extends HookName> = z.output<(typeof HOOK_RESULTS)[H]>;
