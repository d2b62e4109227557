import { existsSync } from 'node:fs';
import { isUnavailable } from '../core/errors.js';
import { USER_ID_PATTERN } from '../core/names.js';
import type { Config } from '../config.js';
import { defineCommand, fail } from './command.js';
import { SETTINGS_HELP, SETTINGS_OPTIONS, settingsOf } from './settings.js';

const DEFAULT_TTL = '24h';
const ROLE = /^[A-Za-z0-9_.:-]{1,64}$/;
const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `3600`, `90s`, `15m`, `24h`, `7d` as seconds; null when it is none of those. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * UNITS[match[2] || 's']!;
  return seconds > 0 ? seconds : null;
}

interface Signed {
  readonly token: string;
  readonly expiresAt: number;
  readonly roles: readonly string[];
}

export const tokenCommand = defineCommand({
  name: 'token',
  args: '',
  summary: 'sign an access token for a user (development, scripts)',
  help: `Prints an access token (a JWT) for the user on standard output, signed with the key
this configuration's server verifies tokens with, so a client or curl can connect as the
user: \`curl -H "Authorization: Bearer $(switchboard token --user alice)" ...\`.

  auth "jwt" with jwt.secret: an HS256 token with the configured audience and issuer.
  auth "accounts": signed with jwt.secret, or the signing key kept in the database (read
    from --database / DATABASE_URL; the database must have been migrated). The user is
    registered as POST /api/users would: an account without a password if it is new;
    --roles sets its roles, otherwise the account's roles go into the token.
  auth "open", or "jwt" with a public key or JWKS URL: refused; open mode takes a user
    name instead of a token, and a public key cannot sign.

Options:
  --user ID           the user (the token's sub); required
  --ttl DURATION      lifetime: seconds, or 90s, 15m, 24h, 7d (default ${DEFAULT_TTL})
  --name NAME         display name (default: the user id)
  --roles LIST        comma list of roles, e.g. admin (the admin console accepts them)
  --json              print {"token","user","roles","expiresAt"} instead of the bare token
${SETTINGS_HELP}`,
  options: {
    user: { type: 'string' },
    ttl: { type: 'string' },
    name: { type: 'string' },
    roles: { type: 'string' },
    json: { type: 'boolean' },
    ...SETTINGS_OPTIONS,
  },
  positionals: [0, 0],
  async run({ values }) {
    const user = values.user;
    if (user === undefined) return fail('Name the user: --user ID. See switchboard token --help.');
    if (!USER_ID_PATTERN.test(user)) return fail(`"${user}" is not a user id: 1-64 characters of letters, digits, _ . @ -.`);
    const ttlSeconds = parseDuration(values.ttl ?? DEFAULT_TTL);
    if (ttlSeconds === null) return fail(`--ttl ${values.ttl} is not a duration: give seconds, or a number with s, m, h or d (15m, 24h).`);
    const roles = values.roles === undefined ? undefined : values.roles.split(',').map((role) => role.trim()).filter(Boolean);
    const badRole = roles?.find((role) => !ROLE.test(role));
    if (badRole !== undefined) return fail(`"${badRole}" is not a role: 1-64 characters of letters, digits, _ . : -.`);
    const name = values.name;
    if (name !== undefined && (name.length === 0 || name.length > 200)) return fail('--name takes 1-200 characters.');

    const config = settingsOf(values, {
      // The token's lifetime: what the server's own issuer signs with.
      overrides: { accounts: { accessTokenTtlSeconds: ttlSeconds } },
    });
    if (typeof config === 'number') return config;
    const refusal = cannotSign(config);
    if (refusal) return fail(refusal);

    let signed: Signed;
    try {
      signed = config.auth === 'jwt' ? await signWithSecret(config, user, name, roles) : await signForAccount(config, user, name, roles);
    } catch (error) {
      return fail((error as Error).message);
    }
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ token: signed.token, user, roles: signed.roles, expiresAt: new Date(signed.expiresAt).toISOString() })}\n`
        : `${signed.token}\n`,
    );
    return 0;
  },
});

/** Why this configuration's server has no key to sign with, or null. */
function cannotSign(config: Readonly<Config>): string | null {
  if (config.auth === 'open') {
    return 'Auth mode "open" takes no tokens: a client names itself (?user=NAME). Tokens are signed in auth "jwt" with jwt.secret, or "accounts".';
  }
  if (config.auth === 'jwt' && config.jwt.secret === null) {
    const key = config.jwt.publicKey !== null ? 'jwt.publicKey' : 'jwt.jwksUrl';
    return `Auth "jwt" here verifies with ${key}: tokens are signed with your identity provider's private key, which this server does not have.`;
  }
  return null;
}

/** auth "jwt" with a secret: the issuer POST /api/users uses, with the configured claims; no database. */
async function signWithSecret(config: Readonly<Config>, user: string, name: string | undefined, roles: readonly string[] = []): Promise<Signed> {
  const { TokenIssuer } = await import('../auth/token-issuer.js');
  const issuer = new TokenIssuer({
    secret: new TextEncoder().encode(config.jwt.secret!),
    audience: config.jwt.audience,
    issuer: config.jwt.issuer,
    ttlSeconds: config.accounts.accessTokenTtlSeconds,
  });
  const issued = await issuer.issue({ kind: 'user', userId: user, name: name ?? user, roles });
  return { ...issued, roles };
}

/**
 * auth "accounts": the node's own auth set-up on the configured database provisions the
 * user, so the token carries the claims and key every node checks. The database is opened
 * without migrating: that is `switchboard migrate`'s (or a starting node's) job.
 */
async function signForAccount(
  config: Readonly<Config>,
  user: string,
  name: string | undefined,
  roles: readonly string[] | undefined,
): Promise<Signed> {
  const [{ openDatabase, parseDatabaseUrl }, { KyselyStore }, { createAuth }, { describeDatabase }] = await Promise.all([
    import('../store/open-database.js'),
    import('../store/kysely-store.js'),
    import('../auth/create-auth.js'),
    import('../server.js'),
  ]);
  const where = describeDatabase(config.databaseUrl);
  const target = parseDatabaseUrl(config.databaseUrl);
  if (target.kind === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path)) {
    throw new Error(`There is no database at ${target.path}: start a node on it, or run switchboard migrate, first.`);
  }
  // Bounded as a serving node's queries are: a database gone silent fails the command.
  const database = await openDatabase(config.databaseUrl, [], {
    othersMayExist: true,
    queryTimeoutMs: config.postgres.queryTimeoutMs,
  }).catch((error: unknown) => {
    throw new Error(`Cannot open the database ${where}: ${(error as Error).message}.`);
  });
  try {
    const auth = await createAuth(config, { users: new KyselyStore(database), database });
    const provisioned = await auth.provisioner!.provision({ id: user, name, roles });
    return { token: provisioned.token, expiresAt: provisioned.expiresAt, roles: provisioned.user.roles };
  } catch (error) {
    const reason = (error as Error).message.replace(/\.$/, '');
    throw new Error(`Cannot sign with the accounts of ${where}: ${reason}.${nextStep(error)}`);
  } finally {
    await database.close();
  }
}

/**
 * What to do about a failure to sign, by its cause: a database that did not answer wants
 * looking at, not migrating; only a missing table says the migrations have not run.
 */
function nextStep(error: unknown): string {
  if (isUnavailable(error)) {
    return ' It did not answer in time: check that it is up and reachable from here.';
  }
  return isMissingTable(error) ? ' Has it been migrated (switchboard migrate)?' : '';
}

/** PostgreSQL's undefined_table, or SQLite's "no such table". */
function isMissingTable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  return code === '42P01' || (code === 'SQLITE_ERROR' && error.message.startsWith('no such table'));
}
