import { useEffect, useState } from 'react';
import {
  type AuthConfig,
  fetchAuthConfig,
  jwtSession,
  restoreAccountSession,
  restoreOpenSession,
  type SignedIn,
} from './auth-session.js';
import { ChatModel } from './chat-model.js';
import { ChatScreen } from './chat-screen.js';
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
    const chat = new ChatModel(session.userId, session.credentials);
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
