import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { type ChatMessage, type ChatModel, type ChatSnapshot, channelLabel } from './chat-model.js';

const STATUS_TEXT: Record<ChatSnapshot['connection'], string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnected: 'Disconnected',
};

export function ChatScreen({ model, onSignOut }: { model: ChatModel; onSignOut: () => void }) {
  const chat = useSyncExternalStore(model.subscribe, model.snapshot);
  const [menuOpen, setMenuOpen] = useState(false);
  const current = chat.channels.find((channel) => channel.id === chat.current);

  return (
    <div className="app">
      <nav className={`sidebar${menuOpen ? ' open' : ''}`} aria-label="Channels">
        <div className="me">
          <strong>{chat.me}</strong>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
        <h2>Channels</h2>
        <ul className="channel-list">
          {chat.channels.map((channel) => {
            const unread = chat.unread.get(channel.id) ?? 0;
            return (
              <li key={channel.id}>
                <button
                  type="button"
                  aria-current={channel.id === chat.current}
                  onClick={() => {
                    setMenuOpen(false);
                    void model.open(channel.id);
                  }}
                >
                  <span>{channelLabel(channel, chat.me)}</span>
                  {unread > 0 && (
                    <span className="badge" aria-label={`${unread} unread`}>
                      {unread}
                    </span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
        <NewChannelForm model={model} />
      </nav>

      <main className="main">
        <header>
          <button type="button" className="menu-toggle" aria-label="Show channels" onClick={() => setMenuOpen(!menuOpen)}>
            ☰
          </button>
          <h1>{current ? channelLabel(current, chat.me) : 'No channel'}</h1>
          <span className={`status ${chat.connection}`} role="status" aria-live="polite">
            {STATUS_TEXT[chat.connection]}
          </span>
        </header>
        <MessageList model={model} chat={chat} />
        <p className="typing" aria-live="polite">
          {chat.typing.length > 0 && `${chat.typing.join(', ')} ${chat.typing.length === 1 ? 'is' : 'are'} typing…`}
        </p>
        {current && <Composer model={model} label={channelLabel(current, chat.me)} />}
      </main>

      <aside className="people" aria-label="People online">
        <h2>Online here</h2>
        <ul>
          {chat.online.map((user) => (
            <li key={user}>
              {user === chat.me ? (
                <span>
                  <span className="online-dot" aria-hidden="true" />
                  {user} (you)
                </span>
              ) : (
                <button type="button" title={`Message ${user} directly`} onClick={() => void model.openDirect(user)}>
                  <span>
                    <span className="online-dot" aria-hidden="true" />
                    {user}
                  </span>
                  <span aria-hidden="true">✉</span>
                  <span className="visually-hidden">Message {user} directly</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      </aside>

      <div className="toasts" role="alert">
        {chat.toasts.map((toast) => (
          <div className="toast" key={toast.id}>
            <span>{toast.text}</span>
            <button type="button" aria-label="Dismiss" onClick={() => model.dismiss(toast.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </div>
  );
}

function NewChannelForm({ model }: { model: ChatModel }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<'public' | 'private'>('public');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() && (await model.createChannel(name.trim(), type))) setName('');
  };
  return (
    <form className="new-channel" onSubmit={(event) => void submit(event)}>
      <h2>New channel</h2>
      <label className="visually-hidden" htmlFor="new-channel-name">
        Channel name
      </label>
      <input
        id="new-channel-name"
        placeholder="channel-name"
        value={name}
        onChange={(event) => setName(event.target.value)}
      />
      <div className="row">
        <label className="visually-hidden" htmlFor="new-channel-type">
          Visibility
        </label>
        <select id="new-channel-type" value={type} onChange={(event) => setType(event.target.value as 'public' | 'private')}>
          <option value="public">Public</option>
          <option value="private">Private</option>
        </select>
        <button type="submit">Create</button>
      </div>
    </form>
  );
}

function MessageList({ model, chat }: { model: ChatModel; chat: ChatSnapshot }) {
  const list = useRef<HTMLDivElement>(null);
  const view = chat.view;
  const newest = view?.messages.at(-1)?.seq;

  useEffect(() => {
    const element = list.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [newest, chat.current]);

  if (!view) return <div className="messages" />;
  return (
    <div className="messages" ref={list} aria-label="Messages" role="log">
      {view.hasOlder && (
        <button type="button" className="load-older" onClick={() => void model.loadOlder()}>
          Load older messages
        </button>
      )}
      {view.loaded && view.messages.length === 0 && <p className="empty">No messages yet. Say hello!</p>}
      {view.messages.map((message) => (
        <MessageItem key={message.seq} message={message} mine={message.author === chat.me} model={model} />
      ))}
    </div>
  );
}

function MessageItem({ message, mine, model }: { message: ChatMessage; mine: boolean; model: ChatModel }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.text ?? '');
  const time = new Date(message.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  const save = async (event: FormEvent) => {
    event.preventDefault();
    await model.edit(message.seq, draft);
    setEditing(false);
  };

  return (
    <article className={`message${message.deleted ? ' deleted' : ''}`} data-seq={message.seq}>
      <div className="meta">
        <span className="author">{message.author ?? 'server'}</span>
        <time dateTime={new Date(message.createdAt).toISOString()}>{time}</time>
        {message.edited && !message.deleted && <span>(edited)</span>}
        {mine && !message.deleted && !editing && (
          <span className="actions">
            <button type="button" onClick={() => setEditing(true)} aria-label={`Edit message ${message.seq}`}>
              Edit
            </button>
            <button type="button" onClick={() => void model.remove(message.seq)} aria-label={`Delete message ${message.seq}`}>
              Delete
            </button>
          </span>
        )}
      </div>
      {editing ? (
        <form onSubmit={(event) => void save(event)} className="composer">
          <label className="visually-hidden" htmlFor={`edit-${message.seq}`}>
            Edit message
          </label>
          <input id={`edit-${message.seq}`} value={draft} autoFocus onChange={(event) => setDraft(event.target.value)} />
          <button type="submit">Save</button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <div className="body">{message.deleted ? 'This message was deleted.' : message.text}</div>
      )}
    </article>
  );
}

function Composer({ model, label }: { model: ChatModel; label: string }) {
  const [text, setText] = useState('');
  const send = async () => {
    const message = text.trim();
    if (!message) return;
    setText('');
    if (!(await model.send(message))) setText(message);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void send();
    }
  };
  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
    >
      <label className="visually-hidden" htmlFor="composer-text">
        Message {label}
      </label>
      <textarea
        id="composer-text"
        placeholder={`Message ${label}`}
        value={text}
        onKeyDown={onKeyDown}
        onChange={(event) => {
          setText(event.target.value);
          model.typed();
        }}
      />
      <button className="primary" type="submit">
        Send
      </button>
    </form>
  );
}
