import { createHmac, timingSafeEqual } from 'node:crypto';
import { SwitchboardError } from '../core/errors.js';
import type { FileId } from './file-catalog.js';

/** What a download URL serves: the file itself or its thumbnail. */
export type FileVariant = 'content' | 'thumbnail';

/** The query a signed URL carries: `expires` (Unix seconds) and `signature`. */
export interface UrlSignature {
  readonly expires: number;
  readonly signature: string;
}

/**
 * Short-lived download links that work without headers (an `<img src>`): an HMAC-SHA256
 * over the file id, the variant and the expiry, with a secret every node shares. Expiry
 * is rounded up to a step of half the lifetime, so links asked for within one step are
 * the same URL and a browser's cache serves them; a link lives between `ttlMs` and 1.5×.
 *
 * @example
 *   const { expires, signature } = signer.sign('fAbc…', 'content', Date.now());
 *   signer.verify('fAbc…', 'content', expires, signature, Date.now()); // throws when expired or altered
 */
export class UrlSigner {
  readonly #secret: Buffer;
  readonly #ttlMs: number;

  constructor(secret: string, ttlMs: number) {
    this.#secret = Buffer.from(secret, 'utf8');
    this.#ttlMs = ttlMs;
  }

  sign(id: FileId, variant: FileVariant, now: number): UrlSignature {
    const stepSeconds = Math.max(1, Math.floor(this.#ttlMs / 2000));
    const expires = Math.ceil((now + this.#ttlMs) / 1000 / stepSeconds) * stepSeconds;
    return { expires, signature: this.#mac(id, variant, expires) };
  }

  /** Throws `forbidden` for a link that expired or was altered (the same answer for both, no oracle). */
  verify(id: FileId, variant: FileVariant, expires: number, signature: string, now: number): void {
    const expected = Buffer.from(this.#mac(id, variant, expires));
    const given = Buffer.from(signature);
    const valid = given.length === expected.length && timingSafeEqual(given, expected);
    if (!valid) throw new SwitchboardError('forbidden', 'This download link is not valid.');
    if (expires * 1000 <= now) throw new SwitchboardError('forbidden', 'This download link expired; ask for a new one.');
  }

  #mac(id: FileId, variant: FileVariant, expires: number): string {
    return createHmac('sha256', this.#secret).update(`${id}\n${variant}\n${expires}`).digest('base64url');
  }
}
