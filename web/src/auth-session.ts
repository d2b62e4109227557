/** How the page signs in, for each server auth mode (GET /api/auth/config says which). */

export type AuthMode = 'open' | 'accounts' | 'jwt';

export interface AuthConfig {
  readonly mode: AuthMode;
  /** Whether anyone may create an account here (accounts mode). */
  readonly registration: boolean;
}

/** What the SDK needs: a name (open mode) or a way to get a fresh access token. */
export type Credentials = { readonly user: string } | { readonly token: () => Promise<string> };

export interface SignedIn {
  readonly userId: string;
  readonly credentials: Credentials;
  signOut(): Promise<void>;
}

const USER_KEY = 'switchboard.user';
const REFRESH_KEY = 'switchboard.refresh';
const TOKEN_KEY = 'switchboard.token';
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 30_000;

export async function fetchAuthConfig(): Promise<AuthConfig> {
  const response = await fetch('/api/auth/config');
  if (!response.ok) return { mode: 'open', registration: false };
  return (await response.json()) as AuthConfig;
}

export function openSession(name: string): SignedIn {
  localStorage.setItem(USER_KEY, name);
  return {
    userId: name,
    credentials: { user: name },
    signOut: async () => localStorage.removeItem(USER_KEY),
  };
}

export function restoreOpenSession(): SignedIn | null {
  const name = localStorage.getItem(USER_KEY);
  return name ? openSession(name) : null;
}

interface Tokens {
  readonly user: { readonly id: string };
  readonly accessToken: string;
  readonly expiresAt: number;
  readonly refreshToken: string;
}

async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    const failure = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
    throw new Error(humanAuthError(response.status, failure.code, failure.message));
  }
  return (await response.json()) as T;
}

/** Built-in accounts: the refresh token is kept so a reload stays signed in. */
class AccountSession implements SignedIn {
  #tokens: Tokens;
  #refreshing: Promise<Tokens> | null = null;

  constructor(tokens: Tokens) {
    this.#tokens = tokens;
    localStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  }

  get userId(): string {
    return this.#tokens.user.id;
  }

  readonly credentials: Credentials = { token: () => this.#accessToken() };

  async signOut(): Promise<void> {
    localStorage.removeItem(REFRESH_KEY);
    await postJson('/api/auth/logout', { refreshToken: this.#tokens.refreshToken }).catch(() => {});
  }

  async #accessToken(): Promise<string> {
    if (this.#tokens.expiresAt - REFRESH_MARGIN_MS > Date.now()) return this.#tokens.accessToken;
    // One refresh at a time: a refresh token works once, a second use revokes the session.
    this.#refreshing ??= refresh(this.#tokens.refreshToken).finally(() => (this.#refreshing = null));
    this.#tokens = await this.#refreshing;
    localStorage.setItem(REFRESH_KEY, this.#tokens.refreshToken);
    return this.#tokens.accessToken;
  }
}

function refresh(refreshToken: string): Promise<Tokens> {
  return postJson<Tokens>('/api/auth/refresh', { refreshToken });
}

let restoring: Promise<SignedIn | null> | null = null;

/** Signs in again from the stored refresh token, once per page load. */
export function restoreAccountSession(): Promise<SignedIn | null> {
  restoring ??= (async () => {
    const refreshToken = localStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return null;
    try {
      return new AccountSession(await refresh(refreshToken));
    } catch {
      localStorage.removeItem(REFRESH_KEY);
      return null;
    }
  })();
  return restoring;
}

export async function logIn(username: string, password: string, register: boolean): Promise<SignedIn> {
  const tokens = await postJson<Tokens>(register ? '/api/auth/register' : '/api/auth/login', { username, password });
  return new AccountSession(tokens);
}

/** jwt mode: the host app hands the page a token in the URL fragment (`#token=...`). */
export function jwtSession(): SignedIn | null {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromFragment) {
    sessionStorage.setItem(TOKEN_KEY, fromFragment);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const token = fromFragment ?? sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  return {
    userId: subjectOf(token) ?? 'you',
    credentials: { token: async () => token },
    signOut: async () => sessionStorage.removeItem(TOKEN_KEY),
  };
}

function subjectOf(token: string): string | null {
  try {
    const payload = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    return (JSON.parse(atob(payload)) as { sub?: string }).sub ?? null;
  } catch {
    return null;
  }
}

/** A sentence for a refused sign-in, never a raw validation string. */
function humanAuthError(status: number, code: string | undefined, message: string | undefined): string {
  if (status === 401 || code === 'unauthorized') return message ?? 'Wrong user name or password.';
  if (status === 409 || code === 'conflict') return 'That user name is taken. Pick another, or sign in.';
  if (status === 429 || code === 'rate_limited') return 'Too many attempts. Wait a minute and try again.';
  if (status === 400 || code === 'bad_request') {
    return 'Use a user name of 1-64 letters, digits or _ . @ - and a password of at least 8 characters.';
  }
  if (status === 403 || code === 'forbidden') return 'This server does not let you do that. Ask its administrator.';
  return 'The server could not sign you in right now. Try again in a moment.';
}
