import { useEffect, useState } from 'react';
import { ChatModel } from './chat-model.js';
import { ChatScreen } from './chat-screen.js';
import { SignIn } from './sign-in.js';

const USER_KEY = 'switchboard.user';

/** Signs the user in (open mode: a name, remembered across reloads), then shows the chat. */
export function App() {
  const [user, setUser] = useState<string | null>(() => localStorage.getItem(USER_KEY));
  const [model, setModel] = useState<ChatModel | null>(null);

  useEffect(() => {
    if (!user) return;
    const chat = new ChatModel(user);
    setModel(chat);
    return () => {
      void chat.close();
    };
  }, [user]);

  if (!user) {
    return (
      <SignIn
        onSignIn={(name) => {
          localStorage.setItem(USER_KEY, name);
          setUser(name);
        }}
      />
    );
  }
  if (!model || model.me !== user) return null;
  return (
    <ChatScreen
      model={model}
      onSignOut={() => {
        localStorage.removeItem(USER_KEY);
        setModel(null);
        setUser(null);
      }}
    />
  );
}
