import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Store } from '../core/store.js';
import type { Database } from '../store/database.js';
import { AccountStore } from './account-store.js';
import { Accounts } from './accounts.js';
import { ApiKeys } from './api-keys.js';
import type { Authenticator } from './authenticator.js';
import { BanList } from './ban-list.js';
import { CredentialAuthenticator } from './credential-authenticator.js';
import { type ClaimRules, JwtVerifier, publicKeyFromPem, type VerificationKey } from './jwt-verifier.js';
import { Tickets } from './tickets.js';
import { TokenIssuer } from './token-issuer.js';
import { UserProvisioner } from './user-provisioner.js';

/** Everything the transports need from auth, built once per node from config. */
export interface Auth {
  readonly authenticator: Authenticator;
  readonly tickets: Tickets;
  /** Register, log in, refresh, log out: auth "accounts" only. */
  readonly accounts: Accounts | null;
  /** `POST /api/users`: whenever this node can sign tokens (accounts, or jwt with a secret). */
  readonly provisioner: UserProvisioner | null;
  /** Anyone may register (auth "accounts"); otherwise only API-key holders. */
  readonly openRegistration: boolean;
  /** Banned users, refused by every way of authenticating (`users.ban`). */
  readonly bans: BanList;
}

/** The audience and issuer of access tokens this server signs itself (auth "accounts"). */
const OWN_TOKENS = 'switchboard';
const SIGNING_KEY_ID = 'access-token-hs256';

/**
 * Builds the auth of a node: its tables on the shared database, users in the log's
 * store. Throws an Error with one sentence when a key cannot be read.
 */
export async function createAuth(config: Readonly<Config>, options: { users: Store; database: Database }): Promise<Auth> {
  const store = options.users;
  const accountStore = new AccountStore(options.database);
  const apiKeys = new ApiKeys(config.apiKeys);
  const tickets = new Tickets(accountStore, config.ticketTtlMs);
  const bans = new BanList(accountStore);
  await bans.load();
  const encode = (secret: string) => new TextEncoder().encode(secret);
  const { jwt } = config;
  let verifier: JwtVerifier | null = null;
  let issuer: TokenIssuer | null = null;
  let accounts: Accounts | null = null;

  if (config.auth === 'accounts') {
    // Kept in the database unless configured, so every node and every restart agrees on it.
    const secret = encode(
      jwt.secret ?? (await accountStore.signingSecret(SIGNING_KEY_ID, () => randomBytes(32).toString('base64url'))),
    );
    const rules: ClaimRules = {
      audience: jwt.audience ?? OWN_TOKENS,
      issuer: jwt.issuer ?? OWN_TOKENS,
      clockToleranceSeconds: jwt.clockToleranceSeconds,
    };
    verifier = new JwtVerifier({ kind: 'secret', secret }, rules);
    issuer = new TokenIssuer({ secret, ...rules, ttlSeconds: config.accounts.accessTokenTtlSeconds });
    accounts = new Accounts({
      accounts: accountStore,
      users: store,
      issuer,
      refreshTtlMs: config.accounts.refreshTokenTtlSeconds * 1000,
      bans,
    });
  } else if (config.auth === 'jwt') {
    const rules: ClaimRules = { audience: jwt.audience, issuer: jwt.issuer, clockToleranceSeconds: jwt.clockToleranceSeconds };
    let key: VerificationKey;
    if (jwt.secret !== null) key = { kind: 'secret', secret: encode(jwt.secret) };
    else if (jwt.publicKey !== null) key = { kind: 'publicKey', ...publicKeyFromPem(jwt.publicKey) };
    else key = { kind: 'jwks', url: new URL(jwt.jwksUrl!) };
    verifier = new JwtVerifier(key, rules);
    if (key.kind === 'secret') {
      issuer = new TokenIssuer({ secret: key.secret, ...rules, ttlSeconds: config.accounts.accessTokenTtlSeconds });
    }
  }

  return {
    authenticator: new CredentialAuthenticator({ mode: config.auth, apiKeys, tickets, verifier, bans }),
    tickets,
    accounts,
    provisioner: issuer && new UserProvisioner({ users: store, issuer, accounts: config.auth === 'accounts' ? accountStore : null }),
    openRegistration: config.accounts.openRegistration,
    bans,
  };
}
