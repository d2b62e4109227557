import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import type { Channel } from '../../../client/src/index.js';
import { type ChatModel, type ChatState, labelOf } from '../model/chat-model.js';
import { Composer } from './composer.js';
import { ChannelBrowser, ChannelSettings, NewDirect, ProfileCard, Switcher } from './dialogs.js';
import { MessageList } from './message-list.js';
import { MembersPanel, MentionsPanel, SearchPanel, ThreadPanel } from './panels.js';
import { Icon } from './icons.js';
import { Avatar, nameOf, StatusDot } from './people.js';

type Dialog = { kind: 'browser' } | { kind: 'settings' } | { kind: 'direct' } | { kind: 'switcher' } | { kind: 'profile'; user: string };

const CONNECTION_TEXT: Record<ChatState['connection'], string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  disconnected: 'Disconnected',
};

export function ChatScreen({ model, onSignOut }: { model: ChatModel; onSignOut: () => void }) {
  const state = useSyncExternalStore(model.subscribe, model.snapshot);
  const [drawer, setDrawer] = useState(false);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const channel = state.current ? state.channels.get(state.current) : undefined;
  const view = state.current ? state.views.get(state.current) : undefined;
  const showProfile = useCallback((user: string) => setDialog({ kind: 'profile', user }), []);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k') {
        event.preventDefault();
        setDialog({ kind: 'switcher' });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const goTo = (id: string) => {
    setDrawer(false);
    void model.open(id);
  };

  return (
    <div className={`app${state.panel ? ' with-panel' : ''}`}>
      <Sidebar
        model={model}
        state={state}
        open={drawer}
        onClose={() => setDrawer(false)}
        onGo={goTo}
        onDialog={(d) => {
          setDrawer(false);
          setDialog(d);
        }}
        onSignOut={onSignOut}
      />
      {drawer && <div className="drawer-backdrop" aria-hidden="true" onClick={() => setDrawer(false)} />}

      <main className="main" aria-label={channel ? labelOf(channel.id, state.me) : 'Chat'}>
        <header className="channel-header">
          <button type="button" className="menu-toggle icon-button" aria-label="Show channels" aria-expanded={drawer} onClick={() => setDrawer(!drawer)}>
            ☰
            {totalUnread(state) > 0 && <span className="dot-badge" aria-hidden="true" />}
          </button>
          <div className="channel-heading">
            <h1>{channel ? labelOf(channel.id, state.me) : state.ready ? 'No channel' : 'Loading…'}</h1>
            {channel?.title && channel.title !== channel.id && channel.type !== 'direct' && <p className="channel-title">{channel.title}</p>}
            {channel?.topic && (
              <p className="channel-topic" title={channel.topic}>
                {channel.topic}
              </p>
            )}
            {channel?.archivedAt !== undefined && <p className="channel-archived">Archived: read-only</p>}
          </div>
          <div className="header-actions">
            {channel && channel.type !== 'direct' && (
              <button type="button" onClick={() => void model.showMembers(channel.id)} aria-label="Members">
                <Icon name="members" />
                <span className="label-text"> Members</span>
              </button>
            )}
            {channel && channel.type !== 'direct' && (
              <button type="button" onClick={() => setDialog({ kind: 'settings' })} aria-label="Channel settings">
                <Icon name="settings" />
                <span className="label-text"> Settings</span>
              </button>
            )}
            <button type="button" onClick={() => model.showSearch()} aria-label="Search">
              <Icon name="search" />
              <span className="label-text"> Search</span>
            </button>
          </div>
          <span className={`connection ${state.connection}`} role="status">
            {CONNECTION_TEXT[state.connection]}
          </span>
        </header>

        <ConnectionBanner model={model} state={state} />

        {channel && view ? (
          <MessageList key={channel.id} model={model} state={state} channel={channel} view={view} onProfile={showProfile} />
        ) : (
          <div className="message-pane">
            <div className="empty">{state.ready ? <p>Pick a channel, or create one with Browse channels.</p> : <p>Loading…</p>}</div>
          </div>
        )}

        <TypingLine state={state} />
        {channel && <ComposerArea model={model} state={state} channel={channel} />}
      </main>

      {state.panel?.kind === 'thread' && <ThreadPanel model={model} state={state} onProfile={showProfile} />}
      {state.panel?.kind === 'search' && <SearchPanel model={model} state={state} />}
      {state.panel?.kind === 'mentions' && <MentionsPanel model={model} state={state} />}
      {state.panel?.kind === 'members' && state.channels.get(state.panel.channel) && (
        <MembersPanel model={model} state={state} channel={state.channels.get(state.panel.channel)!} onProfile={showProfile} />
      )}

      <Toasts model={model} state={state} />

      {dialog?.kind === 'browser' && <ChannelBrowser model={model} state={state} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'settings' && channel && <ChannelSettings model={model} channel={channel} role={state.roles.get(channel.id) ?? null} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'direct' && <NewDirect model={model} state={state} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'switcher' && <Switcher model={model} state={state} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'profile' && <ProfileCard model={model} state={state} user={dialog.user} onClose={() => setDialog(null)} />}
    </div>
  );
}

function totalUnread(state: ChatState): number {
  let total = state.mentionsUnread;
  for (const count of state.unread.values()) total += count;
  return total;
}

function Sidebar({
  model,
  state,
  open,
  onClose,
  onGo,
  onDialog,
  onSignOut,
}: {
  model: ChatModel;
  state: ChatState;
  open: boolean;
  onClose: () => void;
  onGo: (id: string) => void;
  onDialog: (dialog: Dialog) => void;
  onSignOut: () => void;
}) {
  const channels = [...state.joined]
    .map((id) => state.channels.get(id))
    .filter((c): c is Channel => c !== undefined && c.type !== 'direct')
    .sort((a, b) => a.id.localeCompare(b.id));
  const directs = [...state.channels.values()].filter((c) => c.type === 'direct').sort((a, b) => a.id.localeCompare(b.id));
  const myStatus = state.users.get(state.me)?.status ?? (state.connection === 'connected' ? 'online' : 'offline');
  return (
    <nav className={`sidebar${open ? ' open' : ''}`} aria-label="Channels and conversations">
      <div className="sidebar-top">
        <span className="brand">Switchboard</span>
        <button type="button" className="icon-button close-drawer" aria-label="Hide channels" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="me">
        <button type="button" className="me-button" onClick={() => onDialog({ kind: 'profile', user: state.me })} aria-label={`Your profile: ${state.me}, ${myStatus}`}>
          <Avatar user={state.me} size={28} status={myStatus} />
          <strong>{state.me}</strong>
        </button>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </div>
      {state.notifications === 'ask' && (
        <div className="notify-prompt">
          <p>Get a notification for mentions and direct messages while this tab is hidden?</p>
          <button type="button" className="primary" onClick={() => void model.enableNotifications()}>
            Enable notifications
          </button>
          <button type="button" onClick={() => model.declineNotifications()}>
            Not now
          </button>
        </div>
      )}
      <ul className="nav-list">
        <li>
          <button type="button" onClick={() => { onClose(); void model.showMentions(); }}>
            <span className="nav-item"><Icon name="at" /> Mentions</span>
            {state.mentionsUnread > 0 && <Badge count={state.mentionsUnread} />}
          </button>
        </li>
        <li>
          <button type="button" onClick={() => { onClose(); model.showSearch(); }}>
            <span className="nav-item"><Icon name="search" /> Search</span>
          </button>
        </li>
        <li>
          <button type="button" onClick={() => onDialog({ kind: 'switcher' })}>
            <span>Jump to…</span>
            <kbd>Ctrl K</kbd>
          </button>
        </li>
      </ul>
      <div className="section-head">
        <h2>Channels</h2>
        <button type="button" className="icon-button" aria-label="Browse channels" title="Browse channels" onClick={() => onDialog({ kind: 'browser' })}>
          +
        </button>
      </div>
      <ul className="channel-list">
        {channels.map((channel) => (
          <ChannelLink key={channel.id} state={state} channel={channel} onGo={onGo} />
        ))}
        {state.current && !state.joined.has(state.current) && state.channels.get(state.current)?.type === 'public' && (
          <ChannelLink state={state} channel={state.channels.get(state.current)!} onGo={onGo} preview />
        )}
      </ul>
      <button type="button" className="link-button" onClick={() => onDialog({ kind: 'browser' })}>
        Browse channels
      </button>
      <div className="section-head">
        <h2>Direct messages</h2>
        <button type="button" className="icon-button" aria-label="New direct message" title="New direct message" onClick={() => onDialog({ kind: 'direct' })}>
          +
        </button>
      </div>
      <ul className="channel-list">
        {directs.map((channel) => {
          const others = channel.id.slice(3).split(',').filter((u) => u !== state.me);
          const status = others.length === 1 ? state.users.get(others[0]!)?.status : undefined;
          return <ChannelLink key={channel.id} state={state} channel={channel} onGo={onGo} status={status} />;
        })}
      </ul>
    </nav>
  );
}

function ChannelLink({
  state,
  channel,
  onGo,
  status,
  preview = false,
}: {
  state: ChatState;
  channel: Channel;
  onGo: (id: string) => void;
  status?: 'online' | 'away' | 'offline' | undefined;
  preview?: boolean;
}) {
  const unread = state.unread.get(channel.id) ?? 0;
  const label = labelOf(channel.id, state.me);
  return (
    <li>
      <button
        type="button"
        className={unread > 0 ? 'unread' : undefined}
        aria-current={state.current === channel.id ? 'page' : undefined}
        onClick={() => onGo(channel.id)}
      >
        <span className="channel-name">
          {status && <StatusDot status={status} />}
          {channel.type === 'private' && <Icon name="lock" size={13} />}
          {label}
          {preview && <span className="muted"> (preview)</span>}
        </span>
        {unread > 0 && <Badge count={unread} />}
      </button>
    </li>
  );
}

function Badge({ count }: { count: number }) {
  return (
    <span className="badge" aria-label={`${count} unread`}>
      {count > 99 ? '99+' : count}
    </span>
  );
}

function ConnectionBanner({ model, state }: { model: ChatModel; state: ChatState }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (state.connection !== 'reconnecting') return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [state.connection]);
  if (state.connection === 'reconnecting') {
    const seconds = state.retryAt === null ? 0 : Math.max(0, Math.ceil((state.retryAt - now) / 1000));
    return (
      <div className="banner warn" role="alert">
        <span>
          {seconds > 0 ? `Reconnecting in ${seconds} s.` : 'Reconnecting…'} Messages you send meanwhile are kept and go out
          when the connection is back.
        </span>
        <button type="button" onClick={() => model.retryNow()}>
          Retry now
        </button>
      </div>
    );
  }
  if (state.connection === 'disconnected' && state.fatal) {
    return (
      <div className="banner error" role="alert">
        <span>Disconnected: {state.fatal}</span>
        <button type="button" onClick={() => location.reload()}>
          Reload
        </button>
      </div>
    );
  }
  return null;
}

function TypingLine({ state }: { state: ChatState }) {
  const view = state.current ? state.views.get(state.current) : undefined;
  const now = Date.now();
  const typing = view ? [...view.typing].filter(([user, until]) => until > now && user !== state.me).map(([user]) => nameOf(state.users, user)) : [];
  return (
    <p className="typing" aria-live="polite">
      {typing.length > 0 && `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…`}
    </p>
  );
}

function ComposerArea({ model, state, channel }: { model: ChatModel; state: ChatState; channel: Channel }) {
  const joined = state.joined.has(channel.id);
  if (channel.publish === 'server') {
    return <p className="composer-note">Only the app posts announcements in {labelOf(channel.id)}.</p>;
  }
  if (!joined && channel.type === 'public') {
    return (
      <div className="composer-note join-bar">
        <span>You are viewing {labelOf(channel.id)}.</span>
        <button type="button" className="primary" onClick={() => void model.join(channel.id)}>
          Join {labelOf(channel.id)}
        </button>
      </div>
    );
  }
  return <Composer model={model} channel={channel.id} label={labelOf(channel.id, state.me)} users={state.knownUsers} me={state.me} />;
}

function Toasts({ model, state }: { model: ChatModel; state: ChatState }) {
  return (
    <div className="toasts" aria-live="assertive">
      {state.toasts.map((toast) => (
        <div className={`toast ${toast.tone}`} key={toast.id} role={toast.tone === 'error' ? 'alert' : 'status'}>
          <span>{toast.text}</span>
          <button type="button" aria-label="Dismiss" onClick={() => model.dismiss(toast.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
