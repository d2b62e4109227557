import { COMMANDS, type CommandName } from '../../protocol/commands.js';
import type { HooksConfig } from '../config.js';
import { SwitchboardError } from '../core/errors.js';
import type { ChannelId, Principal } from '../core/types.js';
import type { Call } from '../edge/call.js';
import type { CommandHooks, ConnectHook, ConnectionRequest, HookVerdict, RefusedMessage } from '../edge/hook-step.js';
import { parseInput } from '../edge/validation.js';
import type { BackendClient } from './backend-client.js';
import type { ChannelHooksOf } from './channel-hooks.js';

type ChannelHook = 'subscribe' | 'publish';
type PublishInput = { readonly channel: ChannelId; readonly text?: string | null; readonly data?: unknown };

/**
 * The app backend's say, as a step of the command pipeline and of a connection's
 * admission: which backend each hook calls (config `hooks`), what it is sent and what its
 * answer changes. Calls themselves (timeouts, retries, signatures) are BackendClient's.
 */
export class BackendHooks implements CommandHooks, ConnectHook {
  readonly #backends: ReadonlyMap<string, BackendClient>;
  readonly #config: HooksConfig;
  readonly #channelHooks: ChannelHooksOf;

  constructor(backends: ReadonlyMap<string, BackendClient>, config: HooksConfig, channelHooks: ChannelHooksOf) {
    this.#backends = backends;
    this.#config = config;
    this.#channelHooks = channelHooks;
  }

  /** The backend a hook calls, or null when none is set up for it. */
  backend(name: string | null | undefined): BackendClient | null {
    return name ? (this.#backends.get(name) ?? null) : null;
  }

  before(name: CommandName, input: unknown, call: Call): Promise<HookVerdict> | null {
    // The app's backend itself (an API key, a Pusher app's server side) is never asked about its own calls.
    if (call.principal.kind !== 'user') return null;
    switch (name) {
      case 'subscribe':
        return this.#subscribe(input as { channel: ChannelId }, call);
      case 'publish':
        return this.#publish(input as PublishInput, call);
      case 'publish.batch':
        return this.#publishBatch(input as { messages: readonly unknown[] }, call);
      default:
        return null;
    }
  }

  async connect(request: ConnectionRequest, principal: Principal | null): Promise<Principal> {
    const backend = this.backend(this.#config.connect)!;
    const result = await backend.call('connect', {
      transport: request.wire,
      user: principal?.userId ?? null,
      headers: this.#forwardedHeaders(request),
      cookies: this.#forwardedCookies(request.header('cookie')),
      data: request.data ?? null,
    });
    if (principal && result.user !== principal.userId) {
      throw new SwitchboardError('forbidden', `The app's backend named ${result.user} for a token of ${principal.userId}.`);
    }
    // A token's expiry still holds: the backend may shorten a session, never outlive its credential.
    const expiresAt = earliest(principal?.expiresAt, result.expiresAt);
    const channels = result.channels ?? principal?.channels;
    return {
      kind: 'user',
      userId: result.user,
      name: result.name ?? principal?.name ?? result.user,
      roles: principal?.roles ?? [],
      ...(expiresAt !== undefined && { expiresAt }),
      ...(channels !== undefined && channels.length > 0 && { channels }),
      ...(result.info !== undefined && { info: result.info }),
    };
  }

  /** The backend for a channel's hook: its namespace's `hooks`, else `hooks.channelDefault`'s. */
  channelBackend(channel: ChannelId, hook: ChannelHook): BackendClient | null {
    return this.backend(this.#channelHooks(channel)[hook]);
  }

  #subscribe(input: { channel: ChannelId }, call: Call): Promise<HookVerdict> | null {
    const backend = this.channelBackend(input.channel, 'subscribe');
    if (!backend) return null;
    return backend
      .call('subscribe', { ...who(call), session: call.session?.id ?? null, channel: input.channel })
      .then((result) => (result.info === undefined ? { input } : { input, info: result.info }));
  }

  #publish(input: PublishInput, call: Call): Promise<HookVerdict> | null {
    const backend = this.channelBackend(input.channel, 'publish');
    if (!backend) return null;
    return this.#askPublish(backend, input, call).then((checked) => ({ input: checked }));
  }

  /** The message to store: as sent, or the backend's rewrite (checked like a client's); rejects with its refusal. */
  #askPublish(backend: BackendClient, input: PublishInput, call: Call): Promise<PublishInput> {
    const request = { ...who(call), channel: input.channel, text: input.text ?? null, data: input.data ?? null };
    return backend.call('publish', request).then((result) => {
      if (result.text === undefined && result.data === undefined) return input;
      const rewritten = {
        ...input,
        ...(result.text !== undefined && { text: result.text }),
        ...(result.data !== undefined && { data: result.data }),
      };
      try {
        // What is stored must pass what a client's own message would (sizes, depth, NUL).
        return parseInput(COMMANDS.publish.input, rewritten) as PublishInput;
      } catch (error) {
        const reason = error instanceof SwitchboardError ? error.message : 'it is not valid';
        throw new SwitchboardError('bad_request', `The app's backend rewrote the message into one Switchboard cannot store: ${reason}`);
      }
    });
  }

  /**
   * Each message of a batch to a hooked channel is asked about on its own (all at once):
   * allowed as sent, rewritten, or refused in its place, while the others are published.
   * Messages the batch's schema let through unchecked are left for the batch to refuse.
   */
  #publishBatch(input: { messages: readonly unknown[] }, call: Call): Promise<HookVerdict> | null {
    const asks = input.messages.map((message) => {
      const channel = (message as { channel?: unknown }).channel;
      const backend = typeof channel === 'string' && !('unchecked' in (message as object)) ? this.channelBackend(channel, 'publish') : null;
      return backend ? this.#askPublish(backend, message as PublishInput, call).catch(asRefused) : null;
    });
    if (asks.every((ask) => ask === null)) return null;
    return Promise.all(asks.map((ask, i) => ask ?? input.messages[i])).then((messages) => ({ input: { ...input, messages } }));
  }

  #forwardedHeaders(request: ConnectionRequest): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const name of this.#config.forwardHeaders) {
      const value = request.header(name.toLowerCase());
      if (value !== undefined) headers[name.toLowerCase()] = value;
    }
    return headers;
  }

  #forwardedCookies(header: string | undefined): Record<string, string> {
    const cookies: Record<string, string> = {};
    if (header === undefined || this.#config.forwardCookies.length === 0) return cookies;
    for (const pair of header.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      if (this.#config.forwardCookies.includes(name)) cookies[name] = decodeCookie(pair.slice(eq + 1).trim());
    }
    return cookies;
  }
}

/** Who a hook call is about: the wire, the user, and what the connect hook said of the connection. */
export function who(call: Call): { transport: string; user: string; info: unknown } {
  return { transport: call.wire, user: call.principal.userId, info: call.principal.info ?? null };
}

function asRefused(error: unknown): RefusedMessage {
  // Only the backend's answers (its refusal, `unavailable`, a rewrite that cannot be stored) stand for one message.
  if (error instanceof SwitchboardError) return { refused: error };
  throw error;
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function decodeCookie(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
