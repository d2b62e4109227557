import { createHmac } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JwtVerifier } from '../src/auth/jwt-verifier.js';

/**
 * HS256 tokens are checked without WebCrypto (jwt-verifier.ts, verifyHs256). Every token
 * below gets the verdict jose's own jwtVerify gives it: accepted with the same claims, or
 * refused for the same reason.
 */

const SECRET = new TextEncoder().encode('an hs256 secret of at least thirty-two bytes');
const OTHER = new TextEncoder().encode('another secret, also thirty-two bytes or more');
const RULES = { audience: 'chat', issuer: 'https://issuer.example', clockToleranceSeconds: 5 };
const now = Math.floor(Date.now() / 1000);
const claims = { sub: 'alice', aud: 'chat', iss: 'https://issuer.example', exp: now + 600, name: 'Alice' };

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
/** A token signed by hand, so headers and payloads jose would never write can be tried. */
function handMade(header: unknown, payload: unknown, secret = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const signed = (payload: Record<string, unknown>, alg = 'HS256', secret = SECRET) =>
  new SignJWT(payload).setProtectedHeader({ alg }).sign(secret);

/** What verificationError says for each of jose's refusals (the message reaches the client). */
function expectedMessage(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The token expired.';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'The token is not valid yet.';
    if (error.claim === 'aud') return 'The token is meant for another audience.';
    if (error.claim === 'iss') return 'The token comes from another issuer.';
    return `The token's "${error.claim}" claim is missing or invalid.`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "The token's signing algorithm is not accepted here.";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "The token's signature does not verify.";
  return 'The token is malformed.';
}

async function joseVerdict(token: string): Promise<string> {
  try {
    const { payload } = await jwtVerify(token, SECRET, {
      algorithms: ['HS256'],
      audience: RULES.audience,
      issuer: RULES.issuer,
      clockTolerance: RULES.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
    });
    return `ok ${payload.sub}`;
  } catch (error) {
    return expectedMessage(error);
  }
}

async function ourVerdict(token: string): Promise<string> {
  try {
    const principal = await new JwtVerifier({ kind: 'secret', secret: SECRET }, RULES).verify(token);
    return `ok ${principal.userId}`;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('HS256 verification without WebCrypto', () => {
  it('gives every token the verdict jose gives it', async () => {
    const valid = await signed(claims);
    const [h, p, s] = valid.split('.') as [string, string, string];
    const cases: [string, string][] = [
      ['valid', valid],
      ['expired', await signed({ ...claims, exp: now - 60 })],
      ['expired within the tolerance', await signed({ ...claims, exp: now - 2 })],
      ['not yet valid', await signed({ ...claims, nbf: now + 120 })],
      ['wrong audience', await signed({ ...claims, aud: 'other' })],
      ['audience list holding ours', await signed({ ...claims, aud: ['other', 'chat'] })],
      ['wrong issuer', await signed({ ...claims, iss: 'https://evil.example' })],
      ['no exp', await signed({ sub: 'alice', aud: 'chat', iss: RULES.issuer })],
      ['exp not a number', handMade({ alg: 'HS256' }, { ...claims, exp: 'soon' })],
      ['nbf not a number', handMade({ alg: 'HS256' }, { ...claims, nbf: 'later' })],
      ['iat not a number', handMade({ alg: 'HS256' }, { ...claims, iat: '2026' })],
      ['iat in the future', handMade({ alg: 'HS256' }, { ...claims, iat: now + 3600 })],
      ['no aud', handMade({ alg: 'HS256' }, { sub: 'alice', iss: RULES.issuer, exp: now + 600 })],
      ['no iss', handMade({ alg: 'HS256' }, { sub: 'alice', aud: 'chat', exp: now + 600 })],
      ['neither iss nor sub', handMade({ alg: 'HS256' }, { aud: 'chat', exp: now + 600 })],
      ['audience list without ours', handMade({ alg: 'HS256' }, { ...claims, aud: ['other', 'third'] })],
      ['aud a number', handMade({ alg: 'HS256' }, { ...claims, aud: 7 })],
      ['payload not UTF-8', (() => {
        const input = `${b64({ alg: 'HS256' })}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      })()],
      ['payload with a byte that is no UTF-8 inside a string', (() => {
        const [before, after] = JSON.stringify({ ...claims, name: 'HERE' }).split('HERE') as [string, string];
        const json = Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from(after)]);
        const input = `${b64({ alg: 'HS256' })}.${json.toString('base64url')}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      })()],
      ['payload with an encoded surrogate inside a string', (() => {
        const [before, after] = JSON.stringify({ ...claims, name: 'HERE' }).split('HERE') as [string, string];
        const json = Buffer.concat([Buffer.from(before), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(after)]);
        const input = `${b64({ alg: 'HS256' })}.${json.toString('base64url')}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      })()],
      ['payload after a byte order mark', (() => {
        const payload = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(claims))]).toString('base64url');
        const input = `${b64({ alg: 'HS256' })}.${payload}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      })()],
      ['header after a byte order mark', (() => {
        const header = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"alg":"HS256"}')]).toString('base64url');
        const input = `${header}.${b64(claims)}`;
        return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
      })()],
      ['no sub', await signed({ aud: 'chat', iss: RULES.issuer, exp: now + 600 })],
      ['HS512 with the same secret', await signed(claims, 'HS512')],
      ['alg none', `${b64({ alg: 'none' })}.${p}.`],
      ['signed with another secret', await signed(claims, 'HS256', OTHER)],
      ['payload swapped', `${h}.${b64({ ...claims, sub: 'mallory' })}.${s}`],
      ['signature with junk appended', `${valid}x`],
      ['signature padded', `${valid}=`],
      ['signature cut short', valid.slice(0, -2)],
      ['signature one character short', valid.slice(0, -1)],
      ['signature with a foreign character', `${valid.slice(0, -1)}*`],
      ['no signature', `${h}.${p}.`],
      ['crit header', handMade({ alg: 'HS256', crit: ['exp'] }, claims)],
      ['header not JSON', handMade('{alg', claims)],
      ['header an array', handMade(['HS256'], claims)],
      ['payload not JSON', handMade({ alg: 'HS256' }, 'not json')],
      ['payload an array', handMade({ alg: 'HS256' }, [1, 2])],
      ['two parts', `${h}.${p}`],
      ['four parts', `${valid}.x`],
      ['empty', ''],
    ];
    const verdicts = await Promise.all(cases.map(async ([name, token]) => [name, await ourVerdict(token), await joseVerdict(token)]));
    // One deliberate difference: a signature must be unpadded base64url (RFC 7515 2), where
    // jose lets a padded one through.
    const stricter = new Map([['signature padded', 'The token is malformed.']]);
    for (const [name, ours, jose] of verdicts) expect(`${name}: ${ours}`).toBe(`${name}: ${stricter.get(name!) ?? jose}`);
    expect(verdicts.find(([name]) => name === 'signature padded')![2]).toBe('ok alice');
    // The matrix is not vacuous: it holds acceptances and each kind of refusal.
    const seen = new Set(verdicts.map(([, ours]) => ours));
    expect(seen).toContain('ok alice');
    expect(seen).toContain('The token expired.');
    expect(seen).toContain("The token's signature does not verify.");
    expect(seen).toContain("The token's signing algorithm is not accepted here.");
    expect(seen).toContain('The token is malformed.');
    expect(seen).toContain('The token\'s "iat" claim is missing or invalid.');
    // One verifier for them all, in turn: the headers it accepted before (kept, see
    // verifyHs256Signature) change no later verdict.
    const shared = new JwtVerifier({ kind: 'secret', secret: SECRET }, RULES);
    for (const [k, [name, token]] of cases.entries()) {
      const verdict = await shared.verify(token).then((principal) => `ok ${principal.userId}`, (error: Error) => error.message);
      expect(`${name}: ${verdict}`).toBe(`${name}: ${verdicts[k]![1]}`);
    }
  });

  describe('a token used again', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('skips no check that depends on the time, and no other token rides on it', async () => {
      const verifier = new JwtVerifier({ kind: 'secret', secret: SECRET }, RULES);
      const token = await signed({ ...claims, exp: now + 60 });
      expect((await verifier.verify(token)).userId).toBe('alice');
      expect((await verifier.verify(token)).userId).toBe('alice');
      // The same token, with its payload swapped under the verified signature: not a hit.
      const [h, , s] = token.split('.');
      await expect(verifier.verify(`${h}.${b64({ ...claims, sub: 'mallory', exp: now + 60 })}.${s}`)).rejects.toThrow(
        "The token's signature does not verify.",
      );
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime((now + 120) * 1000);
      await expect(verifier.verify(token)).rejects.toThrow('The token expired.');
      const early = await signed({ ...claims, nbf: now + 600, exp: now + 3600 });
      vi.setSystemTime((now + 700) * 1000);
      expect((await verifier.verify(early)).userId).toBe('alice');
      vi.setSystemTime(now * 1000);
      await expect(verifier.verify(early)).rejects.toThrow('The token is not valid yet.');
    });
  });
});
