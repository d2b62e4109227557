import { signWebhook } from '../webhooks/webhook-signer.js';
import { BackendFailure, type BackendTransport } from './backend-transport.js';
import { hookReply, type HookName, type HookReply } from './hook-messages.js';

/** Headers every hook POST carries (docs/backend-hooks.md). */
export const HOOK_HEADERS = {
  hook: 'x-switchboard-hook',
  /** Unix seconds when the request was signed; part of the signed text. */
  timestamp: 'x-switchboard-timestamp',
  /** `v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`: the webhooks' signature. */
  signature: 'x-switchboard-signature',
} as const;

/**
 * A backend reached with JSON POSTs to `<url>/<hook>`, each signed like a webhook so the
 * backend can tell Switchboard from anyone else. A 2xx with `{result}` or `{error}` is an
 * answer; a 5xx or a lost connection may be tried again; anything else is a failure.
 */
export class HttpBackend implements BackendTransport {
  readonly #url: string;
  readonly #secret: string;

  constructor(options: { readonly url: string; readonly secret: string }) {
    this.#url = options.url.replace(/\/+$/, '');
    this.#secret = options.secret;
  }

  async call(hook: HookName, request: object, signal: AbortSignal): Promise<HookReply> {
    const body = JSON.stringify(request);
    const timestamp = Math.floor(Date.now() / 1000);
    let response: Response;
    try {
      response = await fetch(`${this.#url}/${hook}`, {
        method: 'POST',
        body,
        signal,
        redirect: 'error',
        headers: {
          'content-type': 'application/json',
          [HOOK_HEADERS.hook]: hook,
          [HOOK_HEADERS.timestamp]: String(timestamp),
          [HOOK_HEADERS.signature]: signWebhook(this.#secret, timestamp, body),
        },
      });
    } catch (error) {
      throw new BackendFailure(`cannot reach ${this.#url}: ${describe(error)}`, true);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new BackendFailure(`${this.#url}/${hook} answered HTTP ${response.status}`, response.status >= 500);
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch (error) {
      throw new BackendFailure(`${this.#url}/${hook} answered with a body that is not JSON: ${describe(error)}`, false);
    }
    const parsed = hookReply.safeParse(json);
    if (!parsed.success) throw new BackendFailure(`${this.#url}/${hook} answered neither {result} nor {error}`, false);
    return parsed.data;
  }

  close(): void {}
}

function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : null;
  return cause ?? (error instanceof Error ? error.message : String(error));
}
