import { type FormEvent, useState } from 'react';
import { type AuthConfig, logIn, openSession, type SignedIn } from './auth-session.js';

const NAME_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

export function SignIn({ config, onSignIn }: { config: AuthConfig; onSignIn: (session: SignedIn) => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [registering, setRegistering] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (config.mode === 'jwt') {
    return (
      <main className="sign-in">
        <h1>Switchboard</h1>
        <p role="alert">Open this chat from your app: it signs you in with its own token.</p>
      </main>
    );
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (!NAME_PATTERN.test(trimmed)) {
      setError('Use 1-64 letters, digits, or _ . @ -');
      return;
    }
    if (registering && password.length < 8) {
      setError('Choose a password of at least 8 characters.');
      return;
    }
    if (config.mode === 'open') {
      onSignIn(openSession(trimmed));
      return;
    }
    setBusy(true);
    try {
      onSignIn(await logIn(trimmed, password, registering));
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const accounts = config.mode === 'accounts';
  const action = registering ? 'Create account' : 'Sign in';
  return (
    <main className="sign-in">
      <h1>Switchboard</h1>
      <form onSubmit={(event) => void submit(event)} aria-describedby={error ? 'sign-in-error' : undefined}>
        <label htmlFor="sign-in-name">{accounts ? 'User name' : 'Your name'}</label>
        <input
          id="sign-in-name"
          autoFocus
          autoComplete="username"
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
        {accounts && (
          <>
            <label htmlFor="sign-in-password">Password</label>
            <input
              id="sign-in-password"
              type="password"
              autoComplete={registering ? 'new-password' : 'current-password'}
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          </>
        )}
        {error && (
          <p id="sign-in-error" role="alert">
            {error}
          </p>
        )}
        <button className="primary" type="submit" disabled={busy}>
          {action}
        </button>
        {accounts && config.registration && (
          <button type="button" onClick={() => setRegistering(!registering)}>
            {registering ? 'I have an account' : 'Create an account'}
          </button>
        )}
      </form>
    </main>
  );
}
