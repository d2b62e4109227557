import { type FormEvent, useState } from 'react';

const NAME_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

export function SignIn({ onSignIn }: { onSignIn: (name: string) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (!NAME_PATTERN.test(trimmed)) {
      setError('Use 1-64 letters, digits, or _ . @ -');
      return;
    }
    onSignIn(trimmed);
  };

  return (
    <main className="sign-in">
      <h1>Switchboard</h1>
      <form onSubmit={submit} aria-describedby={error ? 'sign-in-error' : undefined}>
        <label htmlFor="sign-in-name">Your name</label>
        <input
          id="sign-in-name"
          autoFocus
          autoComplete="username"
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
        {error && (
          <p id="sign-in-error" role="alert">
            {error}
          </p>
        )}
        <button className="primary" type="submit">
          Sign in
        </button>
      </form>
    </main>
  );
}
