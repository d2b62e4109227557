import { type FormEvent, type KeyboardEvent, useMemo, useState } from 'react';
import type { Channel, MemberRole, PublishPolicy } from '../../../client/src/index.js';
import { type ChatModel, type ChatState, labelOf } from '../model/chat-model.js';
import { Confirm, Modal } from './modal.js';
import { Avatar, lastSeenText } from './people.js';

/** Every channel you may see, with Join; and a form to create one. */
export function ChannelBrowser({ model, state, onClose }: { model: ChatModel; state: ChatState; onClose: () => void }) {
  const [filter, setFilter] = useState('');
  const [name, setName] = useState('');
  const [type, setType] = useState<'public' | 'private'>('public');
  const listed = [...state.channels.values()]
    .filter((c) => c.type !== 'direct' && c.id.includes(filter.trim().toLowerCase()))
    .sort((a, b) => a.id.localeCompare(b.id));
  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (await model.createChannel(name, type, name)) onClose();
  };
  return (
    <Modal title="Browse channels" onClose={onClose} className="browser">
      <label htmlFor="browse-filter" className="visually-hidden">
        Find a channel
      </label>
      <input id="browse-filter" type="search" placeholder="Find a channel" value={filter} autoFocus onChange={(e) => setFilter(e.target.value)} />
      <ul className="browse-list">
        {listed.map((channel) => {
          const joined = state.joined.has(channel.id);
          return (
            <li key={channel.id}>
              <span className="browse-name">
                <strong>{labelOf(channel.id)}</strong>
                {channel.type === 'private' && <span className="role-badge">private</span>}
                {channel.title && channel.title !== channel.id && <span className="muted"> {channel.title}</span>}
                {channel.topic && <span className="browse-topic muted">{channel.topic}</span>}
              </span>
              <span className="browse-actions">
                <button
                  type="button"
                  onClick={() => {
                    void model.open(channel.id);
                    onClose();
                  }}
                  aria-label={`Open ${labelOf(channel.id)}`}
                >
                  Open
                </button>
                {joined ? (
                  <span className="muted">{roleNote(state.roles.get(channel.id))}</span>
                ) : (
                  <button
                    type="button"
                    className="primary"
                    aria-label={`Join ${labelOf(channel.id)}`}
                    onClick={async () => {
                      if (await model.join(channel.id)) void model.open(channel.id);
                      onClose();
                    }}
                  >
                    Join
                  </button>
                )}
              </span>
            </li>
          );
        })}
        {listed.length === 0 && <li className="muted">No channel matches.</li>}
      </ul>
      <form className="create-channel" onSubmit={(e) => void create(e)}>
        <h3>Create a channel</h3>
        <label htmlFor="new-channel-name">Channel name</label>
        <input id="new-channel-name" placeholder="e.g. launch-plans" value={name} onChange={(e) => setName(e.target.value)} />
        <fieldset>
          <legend>Who can see it</legend>
          <label className="checkbox">
            <input type="radio" name="channel-type" checked={type === 'public'} onChange={() => setType('public')} /> Public: anyone here
          </label>
          <label className="checkbox">
            <input type="radio" name="channel-type" checked={type === 'private'} onChange={() => setType('private')} /> Private: only
            people you add
          </label>
        </fieldset>
        <button type="submit" className="primary" disabled={!name.trim()}>
          Create channel
        </button>
      </form>
    </Modal>
  );
}

/** Title and who may post (owners and admins), leave, delete (owners). */
export function ChannelSettings({
  model,
  channel,
  role,
  onClose,
}: {
  model: ChatModel;
  channel: Channel;
  role: MemberRole | null;
  onClose: () => void;
}) {
  const [title, setTitle] = useState(channel.title ?? '');
  const [topic, setTopic] = useState(channel.topic ?? '');
  const [publish, setPublish] = useState<PublishPolicy>(channel.publish);
  const [confirm, setConfirm] = useState<'leave' | 'delete' | null>(null);
  // The server lets owners and admins change a channel, and only owners delete it.
  const manages = role === 'owner' || role === 'admin';
  const owner = role === 'owner';
  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (await model.updateChannel(channel.id, { title, topic, publish })) onClose();
  };
  return (
    <Modal title={`Settings of ${labelOf(channel.id)}`} onClose={onClose}>
      {manages ? (
        <form className="settings-form" onSubmit={(e) => void save(e)}>
          <label htmlFor="settings-title">Title</label>
          <input id="settings-title" value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
          <label htmlFor="settings-topic">Topic</label>
          <input
            id="settings-topic"
            value={topic}
            maxLength={500}
            placeholder="What this channel is about"
            onChange={(e) => setTopic(e.target.value)}
          />
          <label htmlFor="settings-publish">Who may post</label>
          <select id="settings-publish" value={publish} onChange={(e) => setPublish(e.target.value as PublishPolicy)}>
            <option value="anyone">Anyone who can read it</option>
            <option value="members">Members only</option>
            <option value="server">Announcements only (the app's server)</option>
          </select>
          <div className="modal-actions">
            <button type="submit" className="primary">
              Save
            </button>
          </div>
        </form>
      ) : (
        <p className="muted">Only the channel's owners and admins change its settings.</p>
      )}
      <div className="modal-actions danger-zone">
        <button type="button" onClick={() => setConfirm('leave')}>
          Leave channel
        </button>
        {owner && (
          <button type="button" className="danger" onClick={() => setConfirm('delete')}>
            Delete channel
          </button>
        )}
      </div>
      {confirm === 'leave' && (
        <Confirm
          title="Leave channel"
          text={`Leave ${labelOf(channel.id)}?${channel.type === 'private' ? ' You will need to be added again to come back.' : ''}`}
          action="Leave"
          onConfirm={() => void model.leave(channel.id).then((ok) => ok && onClose())}
          onClose={() => setConfirm(null)}
        />
      )}
      {confirm === 'delete' && (
        <Confirm
          title="Delete channel"
          text={`Delete ${labelOf(channel.id)} and all of its messages for everyone? This cannot be undone.`}
          action="Delete channel"
          onConfirm={() => void model.deleteChannel(channel.id).then((ok) => ok && onClose())}
          onClose={() => setConfirm(null)}
        />
      )}
    </Modal>
  );
}

/** "Joined", with your role when it is more than member. */
function roleNote(role: MemberRole | undefined): string {
  return role === 'owner' || role === 'admin' ? `Joined (${role})` : 'Joined';
}

/** A direct message with one person, or a group DM with several. */
export function NewDirect({ model, state, onClose }: { model: ChatModel; state: ChatState; onClose: () => void }) {
  const [picked, setPicked] = useState<string[]>([]);
  const [typed, setTyped] = useState('');
  const others = state.knownUsers.filter((u) => u !== state.me);
  const toggle = (user: string) => setPicked(picked.includes(user) ? picked.filter((u) => u !== user) : [...picked, user]);
  const start = async (event: FormEvent) => {
    event.preventDefault();
    const users = [...picked, ...typed.split(/[\s,]+/).filter(Boolean)];
    if (await model.openDirect(users)) onClose();
  };
  return (
    <Modal title="New direct message" onClose={onClose}>
      <form onSubmit={(e) => void start(e)} className="new-direct">
        <fieldset>
          <legend>People</legend>
          <ul className="pick-list">
            {others.map((user) => (
              <li key={user}>
                <label className="checkbox">
                  <input type="checkbox" checked={picked.includes(user)} onChange={() => toggle(user)} />
                  <Avatar user={user} size={22} /> {user}
                  <span className="muted"> · {lastSeenText(state.users.get(user))}</span>
                </label>
              </li>
            ))}
          </ul>
        </fieldset>
        <label htmlFor="direct-users">Or type user names</label>
        <input id="direct-users" placeholder="bob, carol" value={typed} onChange={(e) => setTyped(e.target.value)} />
        <div className="modal-actions">
          <button type="submit" className="primary" disabled={picked.length === 0 && !typed.trim()}>
            Start conversation
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Ctrl+K: type a few letters of a channel or a person, Enter to go there. */
export function Switcher({ model, state, onClose }: { model: ChatModel; state: ChatState; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const matches = useMemo(() => {
    const q = query.trim().toLowerCase().replace(/^[#@]/, '');
    return [...state.channels.values()]
      .filter((c) => labelOf(c.id).toLowerCase().includes(q) || (c.title ?? '').toLowerCase().includes(q))
      .sort((a, b) => Number(state.joined.has(b.id)) - Number(state.joined.has(a.id)) || a.id.localeCompare(b.id))
      .slice(0, 12);
  }, [query, state.channels, state.joined]);
  const go = (channel: string) => {
    onClose();
    void model.open(channel);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((active + step + matches.length) % Math.max(1, matches.length));
    } else if (event.key === 'Enter' && matches[active]) {
      event.preventDefault();
      go(matches[active].id);
    }
  };
  return (
    <Modal title="Switch channel" onClose={onClose} className="switcher" hideTitle>
      <label htmlFor="switcher-input" className="visually-hidden">
        Go to channel
      </label>
      <input
        id="switcher-input"
        autoFocus
        placeholder="Go to channel or conversation"
        value={query}
        aria-autocomplete="list"
        aria-controls="switcher-list"
        aria-activedescendant={matches[active] ? `switch-${active}` : undefined}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
      />
      <ul id="switcher-list" role="listbox" aria-label="Channels">
        {matches.map((channel, i) => (
          <li
            key={channel.id}
            id={`switch-${i}`}
            role="option"
            aria-selected={i === active}
            onClick={() => go(channel.id)}
          >
            {labelOf(channel.id, state.me)}
            {!state.joined.has(channel.id) && <span className="muted"> (not joined)</span>}
            {(state.unread.get(channel.id) ?? 0) > 0 && <span className="badge">{state.unread.get(channel.id)}</span>}
          </li>
        ))}
      </ul>
    </Modal>
  );
}

export function ProfileCard({ model, state, user, onClose }: { model: ChatModel; state: ChatState; user: string; onClose: () => void }) {
  const status = state.users.get(user);
  return (
    <Modal title={`Profile of ${user}`} onClose={onClose} className="profile-card" hideTitle>
      <div className="profile">
        <Avatar user={user} size={72} status={status?.status} url={status?.avatarUrl} />
        <div>
          <p className="profile-name">{status?.name ?? user}</p>
          <p className="muted">@{user}</p>
          {status?.statusText && <p className="profile-status-text">{status.statusText}</p>}
          <p className="profile-status">{lastSeenText(status)}</p>
        </div>
      </div>
      <div className="modal-actions">
        {user === state.me ? (
          <button type="button" onClick={() => void model.setStatus(status?.status === 'away' ? 'online' : 'away').then(onClose)}>
            {status?.status === 'away' ? 'Set yourself online' : 'Set yourself away'}
          </button>
        ) : (
          <button
            type="button"
            className="primary"
            onClick={() => {
              onClose();
              void model.openDirect([user]);
            }}
          >
            Send a message
          </button>
        )}
      </div>
    </Modal>
  );
}
