import { isUtf8 } from 'node:buffer';
import { createPublicKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, errors, type JWTClaimVerificationOptions, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { SwitchboardError } from '../core/errors.js';
import { makeRoom } from '../core/make-room.js';
import { CHANNEL_ID_PATTERN, USER_ID_PATTERN } from '../core/names.js';
import type { Principal } from '../core/types.js';
import { HmacSha256 } from './hmac-sha256.js';

/** The one kind of key a server checks tokens with. Never more than one: no key confusion. */
export type VerificationKey =
  | { readonly kind: 'secret'; readonly secret: Uint8Array }
  | { readonly kind: 'publicKey'; readonly key: KeyObject; readonly algorithm: 'RS256' | 'ES256' }
  | { readonly kind: 'jwks'; readonly url: URL };

export interface ClaimRules {
  /** Required `aud` when set. */
  readonly audience: string | null;
  /** Required `iss` when set. */
  readonly issuer: string | null;
  readonly clockToleranceSeconds: number;
}

const MAX_NAME_LENGTH = 200;
/** HS256 tokens whose signature was checked, kept for their next use (a reconnect); the oldest quarter goes when full. */
const VERIFIED_TOKENS_LIMIT = 20_000;
/** Protected headers found acceptable, kept as they are (tokens of one issuer share theirs); no more are added past this. */
const ACCEPTED_HEADERS_LIMIT = 16;

/**
 * Checks a JWT and turns its claims into a Principal: `sub` is the user id, `name` the
 * display name (default: `sub`; `name_is_copy: true` says it only fills in, see
 * Principal.nameFillsIn), `roles` an optional list. `exp` is required and becomes
 * the principal's `expiresAt` (with the clock tolerance). Only the
 * algorithm that fits the configured key is accepted, so `alg: none` and an HS256 token
 * signed with a public key are refused before any signature check.
 *
 * @example
 *   const verifier = new JwtVerifier({ kind: 'secret', secret }, { audience: 'chat', issuer: null, clockToleranceSeconds: 5 });
 *   const principal = await verifier.verify(token); // or throws SwitchboardError('unauthorized')
 */
export class JwtVerifier {
  readonly #key: Uint8Array | KeyObject | JWTVerifyGetKey;
  /** The HS256 secret's MAC, its key blocks made once. */
  readonly #mac: HmacSha256 | null = null;
  readonly #algorithms: string[];
  readonly #rules: ClaimRules;
  /**
   * HS256 tokens already verified, with their claims: a client reconnects with the token
   * it had, and its signature (an HMAC and two decodes) need not be checked again. The
   * claims that depend on the time are checked on every use.
   */
  readonly #verified = new Map<string, JWTPayload>();
  /** HS256 protected headers (base64url, as in the token) already read and accepted. */
  readonly #acceptedHeaders = new Set<string>();
  /** The claims an HS256 token must carry, in the order jose checks them. */
  readonly #requiredClaims: readonly string[];

  constructor(key: VerificationKey, rules: ClaimRules) {
    this.#rules = rules;
    this.#requiredClaims = [...(rules.issuer !== null ? ['iss'] : []), ...(rules.audience !== null ? ['aud'] : []), 'sub', 'exp'];
    switch (key.kind) {
      case 'secret':
        this.#key = key.secret;
        this.#mac = new HmacSha256(key.secret);
        this.#algorithms = ['HS256'];
        break;
      case 'publicKey':
        this.#key = key.key;
        this.#algorithms = [key.algorithm];
        break;
      case 'jwks':
        // jose caches the set, refetches on an unknown `kid` (at most every 30 s) and times out after 5 s.
        this.#key = createRemoteJWKSet(key.url, { timeoutDuration: 5000, cooldownDuration: 30_000 });
        this.#algorithms = ['RS256', 'ES256'];
        break;
    }
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      if (this.#mac) payload = this.#verifyHs256(token, this.#mac);
      else {
        const claims: JWTClaimVerificationOptions = {
          audience: this.#rules.audience ?? undefined,
          issuer: this.#rules.issuer ?? undefined,
          clockTolerance: this.#rules.clockToleranceSeconds,
          requiredClaims: ['exp', 'sub'],
        };
        ({ payload } = await jwtVerify(token, this.#key, { algorithms: this.#algorithms, ...claims }));
      }
    } catch (error) {
      throw verificationError(error);
    }
    return principalFrom(payload, this.#rules.clockToleranceSeconds);
  }

  #verifyHs256(token: string, mac: HmacSha256): JWTPayload {
    let payload = this.#verified.get(token);
    if (!payload) {
      payload = verifyHs256Signature(token, mac, this.#acceptedHeaders);
      makeRoom(this.#verified, VERIFIED_TOKENS_LIMIT);
      this.#verified.set(token, payload);
    }
    checkClaims(payload, this.#rules, this.#requiredClaims);
    return payload;
  }
}

/** Unpadded base64url; an HS256 signature is 32 bytes, 43 such characters. */
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const HS256_SIGNATURE_LENGTH = 43;

/**
 * An HS256 token's signature checked in this thread, and its payload: jose verifies HMACs
 * through WebCrypto, whose every call is a job on the thread pool (about 150 µs a connect,
 * more than the rest of the token's checks). HmacSha256 here, constant-time compare. The
 * claims are checked apart (checkClaims), exactly as jose checks them for other keys
 * (test/jwt-hs256 holds both to the same verdicts).
 */
function verifyHs256Signature(token: string, mac: HmacSha256, acceptedHeaders: Set<string>): JWTPayload {
  const parts = token.split('.');
  if (parts.length !== 3) throw new errors.JWSInvalid('Compact JWS must have three parts.');
  const [header, payload, signature] = parts as [string, string, string];
  if (!acceptedHeaders.has(header)) {
    checkHs256Header(header);
    if (acceptedHeaders.size < ACCEPTED_HEADERS_LIMIT) acceptedHeaders.add(header);
  }
  // What is no base64url at all (a foreign character, a length of 4n+1) is malformed, as
  // jose says, rather than a wrong signature.
  if (!BASE64URL.test(signature) || signature.length % 4 === 1) throw new errors.JWSInvalid('The signature is not base64url.');
  // The signing input is the token up to its second dot (a slice, not a copy).
  const expected = mac.of(token.slice(0, header.length + 1 + payload.length));
  if (signature.length !== HS256_SIGNATURE_LENGTH || !timingSafeEqual(Buffer.from(signature, 'base64url'), expected)) {
    throw new errors.JWSSignatureVerificationFailed();
  }
  const claims = jsonObject(payload);
  if (!claims) throw new errors.JWTInvalid('JWT Claims Set must be a top-level JSON object');
  return claims;
}

/** Throws unless the protected header is a JSON object that names HS256 and makes nothing critical. */
function checkHs256Header(header: string): void {
  const fields = jsonObject(header);
  if (!fields) throw new errors.JWSInvalid('The protected header is not a JSON object.');
  if (fields.alg !== 'HS256') throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  // No extension is understood here, so a token that makes one critical is refused (RFC 7515 4.1.11).
  if (fields.crit !== undefined) throw new errors.JWSInvalid('"crit" is not supported.');
}

/** A base64url segment holding a JSON object (strict UTF-8, as jose reads it); null otherwise. */
function jsonObject(segment: string): Record<string, unknown> | null {
  try {
    const bytes = Buffer.from(segment, 'base64url');
    // Checked, then decoded: a fatal TextDecoder took twice as long. As a TextDecoder
    // reads it, a leading byte order mark is no part of the text.
    if (!isUtf8(bytes)) return null;
    const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    const value: unknown = JSON.parse(bytes.toString('utf8', start));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The claims checks jose's jwtVerify makes with these rules, in its order: `iss`, `aud`,
 * `sub` and `exp` present; `iss` and `aud` as configured; `iat`, `nbf` and `exp` numbers,
 * `nbf` reached and `exp` not passed, within the clock tolerance.
 */
function checkClaims(payload: JWTPayload, rules: ClaimRules, required: readonly string[]): void {
  for (const claim of required) {
    if (!Object.hasOwn(payload, claim)) throw new errors.JWTClaimValidationFailed(`missing required "${claim}" claim`, payload, claim, 'missing');
  }
  const unexpected = (claim: string) => new errors.JWTClaimValidationFailed(`unexpected "${claim}" claim value`, payload, claim, 'check_failed');
  if (rules.issuer !== null && payload.iss !== rules.issuer) throw unexpected('iss');
  const { aud } = payload;
  if (rules.audience !== null && !(aud === rules.audience || (Array.isArray(aud) && aud.includes(rules.audience)))) throw unexpected('aud');
  const now = Math.floor(Date.now() / 1000);
  const tolerance = rules.clockToleranceSeconds;
  const numeric = (claim: 'iat' | 'nbf' | 'exp') => {
    const value = payload[claim];
    if (value !== undefined && typeof value !== 'number') {
      throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a number`, payload, claim, 'invalid');
    }
    return value;
  };
  numeric('iat');
  const nbf = numeric('nbf');
  if (nbf !== undefined && nbf > now + tolerance) throw new errors.JWTClaimValidationFailed('"nbf" claim timestamp check failed', payload, 'nbf', 'check_failed');
  const exp = numeric('exp');
  if (exp !== undefined && exp <= now - tolerance) throw new errors.JWTExpired('"exp" claim timestamp check failed', payload, 'exp', 'check_failed');
}

/** Reads a PEM public key and picks the one algorithm it may verify. */
export function publicKeyFromPem(pem: string): { key: KeyObject; algorithm: 'RS256' | 'ES256' } {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('jwt.publicKey (SWITCHBOARD_JWT_PUBLIC_KEY) is not a PEM public key.');
  }
  if (key.asymmetricKeyType === 'rsa') return { key, algorithm: 'RS256' };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { key, algorithm: 'ES256' };
  }
  throw new Error('jwt.publicKey must be an RSA key (RS256) or an EC P-256 key (ES256).');
}

/**
 * The user a token names. Its session lasts as long as the token would be accepted: `exp`
 * plus the clock tolerance (so a session never outlives what a new request could do).
 */
function principalFrom(payload: JWTPayload, clockToleranceSeconds: number): Principal {
  const sub = payload.sub!;
  if (!USER_ID_PATTERN.test(sub)) {
    throw new SwitchboardError('unauthorized', 'The token\'s "sub" is not a valid user id (1-64 of A-Z a-z 0-9 _ . @ -).');
  }
  const named = typeof payload.name === 'string' && payload.name.length > 0;
  const name = named ? (payload.name as string).slice(0, MAX_NAME_LENGTH) : sub;
  // Without a name claim the name is the id; with `name_is_copy` it is a copy of the stored
  // one (tokens this server issues): either only fills in, never overwriting a later rename.
  const nameFillsIn = !named || payload.name_is_copy === true;
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
  const expiresAt = (payload.exp! + clockToleranceSeconds) * 1000;
  const channels = channelsClaim(payload.channels);
  const principal: Principal = { kind: 'user', userId: sub, name, roles, expiresAt, ...(nameFillsIn && { nameFillsIn }) };
  return channels ? { ...principal, channels } : principal;
}

/** The `channels` claim: server-side subscriptions (docs/backend-hooks.md); absent or empty: none. */
function channelsClaim(claim: unknown): readonly string[] | null {
  if (claim === undefined) return null;
  if (!Array.isArray(claim) || !claim.every((c): c is string => typeof c === 'string' && CHANNEL_ID_PATTERN.test(c))) {
    throw new SwitchboardError('unauthorized', 'The token\'s "channels" claim must be a list of channel ids.');
  }
  return claim.length > 0 ? claim : null;
}

/** Says why a token failed without echoing the token. */
function verificationError(error: unknown): SwitchboardError {
  const fail = (message: string) => new SwitchboardError('unauthorized', message);
  if (error instanceof SwitchboardError) return error;
  if (error instanceof errors.JWTExpired) return fail('The token expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return fail('The token is not valid yet.');
      case 'aud':
        return fail('The token is meant for another audience.');
      case 'iss':
        return fail('The token comes from another issuer.');
      default:
        return fail(`The token's "${error.claim}" claim is missing or invalid.`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return fail("The token's signing algorithm is not accepted here.");
  if (error instanceof errors.JWSSignatureVerificationFailed) return fail("The token's signature does not verify.");
  if (error instanceof errors.JWKSNoMatchingKey) return fail('No key in the JWKS matches the token.');
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError)) {
    // The token may be fine; the key set could not be fetched. Retrying later can succeed.
    return new SwitchboardError('unavailable', 'The key set (JWKS) cannot be fetched right now; retry.');
  }
  return fail('The token is malformed.');
}
