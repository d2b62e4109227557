import { useEffect, useState } from 'react';
import {
  type AuthConfig,
  fetchAuthConfig,
  jwtSession,
  restoreAccountSession,
  restoreOpenSession,
  type SignedIn,
} from './auth-session.js';
import { ChatModel } from './model/chat-model.js';
import { ChatScreen } from './ui/chat-screen.js';
import { SignIn } from './sign-in.js';

/** Finds out how this server signs people in, restores a session if there is one, then chats. */
export function App() {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [session, setSession] = useState<SignedIn | null>(null);
  const [model, setModel] = useState<ChatModel | null>(null);

  useEffect(() => {
    void (async () => {
      const found = await fetchAuthConfig();
      if (found.mode === 'open') setSession(restoreOpenSession());
      else if (found.mode === 'accounts') setSession(await restoreAccountSession());
      else setSession(jwtSession());
      setConfig(found);
    })();
  }, []);

  useEffect(() => {
    if (!session) return;
    const chat = new ChatModel(session.userId, session.credentials, { backoff: backoffOverride() });
    setModel(chat);
    return () => {
      void chat.close();
    };
  }, [session]);

  if (!config) return null;
  if (!session) return <SignIn config={config} onSignIn={setSession} />;
  if (!model || model.me !== session.userId) return null;
  return (
    <ChatScreen
      model={model}
      onSignOut={() => {
        void session.signOut();
        setModel(null);
        setSession(null);
      }}
    />
  );
}

/**
 * Tests (and people debugging reconnects) can set `switchboard.backoff` in localStorage,
 * for example `{"initialDelayMs":60000,"maxDelayMs":60000,"jitter":false}`.
 */
function backoffOverride(): { initialDelayMs?: number; maxDelayMs?: number; random?: () => number } | undefined {
  try {
    const raw = localStorage.getItem('switchboard.backoff');
    if (!raw) return undefined;
    const { initialDelayMs, maxDelayMs, jitter } = JSON.parse(raw) as { initialDelayMs?: number; maxDelayMs?: number; jitter?: boolean };
    return {
      ...(typeof initialDelayMs === 'number' ? { initialDelayMs } : {}),
      ...(typeof maxDelayMs === 'number' ? { maxDelayMs } : {}),
      ...(jitter === false ? { random: () => 0.999 } : {}),
    };
  } catch {
    return undefined;
  }
}
