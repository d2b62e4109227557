import { SignJWT } from 'jose';
import type { Principal } from '../core/types.js';

export interface IssuedToken {
  readonly token: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/**
 * Signs short-lived HS256 access tokens that the JwtVerifier with the same secret and
 * claim rules accepts: auth "accounts", and auth "jwt" with a secret (POST /api/users).
 */
export class TokenIssuer {
  readonly #secret: Uint8Array;
  readonly #audience: string | null;
  readonly #issuer: string | null;
  readonly #ttlSeconds: number;

  constructor(options: { secret: Uint8Array; audience: string | null; issuer: string | null; ttlSeconds: number }) {
    this.#secret = options.secret;
    this.#audience = options.audience;
    this.#issuer = options.issuer;
    this.#ttlSeconds = options.ttlSeconds;
  }

  async issue(principal: Principal): Promise<IssuedToken> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.#ttlSeconds;
    // The name is the stored one at issue time: a copy, so a rename made since is not undone on connect.
    let jwt = new SignJWT({ name: principal.name, name_is_copy: true, roles: [...principal.roles] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(principal.userId)
      .setIssuedAt(now)
      .setExpirationTime(exp);
    if (this.#audience !== null) jwt = jwt.setAudience(this.#audience);
    if (this.#issuer !== null) jwt = jwt.setIssuer(this.#issuer);
    return { token: await jwt.sign(this.#secret), expiresAt: exp * 1000 };
  }
}
