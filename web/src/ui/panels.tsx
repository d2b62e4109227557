import { type FormEvent, useState } from 'react';
import type { Channel, MemberRole, UserState } from '../../../client/src/index.js';
import { type ChatModel, type ChatState, labelOf } from '../model/chat-model.js';
import { Composer } from './composer.js';
import { Markdown } from './markdown.js';
import { MessageRow, PendingRow } from './message-row.js';
import { Confirm } from './modal.js';
import { Avatar, lastSeenText, relativeTime, StatusDot, timeOf } from './people.js';

function PanelFrame({ title, onClose, children }: { title: string; onClose: () => void; children: React.ReactNode }) {
  return (
    <aside className="side-panel" aria-label={title}>
      <header className="panel-header">
        <h2>{title}</h2>
        <button type="button" className="icon-button" aria-label={`Close ${title.toLowerCase()}`} onClick={onClose}>
          ×
        </button>
      </header>
      <div className="panel-body">{children}</div>
    </aside>
  );
}

export function ThreadPanel({ model, state, onProfile }: { model: ChatModel; state: ChatState; onProfile: (user: string) => void }) {
  const thread = state.thread;
  const panel = state.panel;
  if (!thread || panel?.kind !== 'thread') return null;
  const { channel } = thread;
  const reactions = state.views.get(channel)?.reactions;
  const pending = state.outbox.filter((e) => e.channel === channel && e.replyTo === panel.root && !thread.replies.some((r) => r.cid === e.cid));
  const editing = (seq: number) => state.editing?.channel === channel && state.editing.seq === seq;
  return (
    <PanelFrame title="Thread" onClose={() => model.closePanel()}>
      <p className="panel-context">in {labelOf(channel)}</p>
      <div className="thread-messages">
        {thread.root && (
          <MessageRow
            model={model}
            me={state.me}
            channel={channel}
            message={thread.root}
            profile={thread.root.author ? state.users.get(thread.root.author) : undefined}
            grouped={false}
            reactions={reactions?.get(thread.root.seq)}
            seenBy={null}
            editing={editing(thread.root.seq)}
            canModerate={false}
            highlighted={false}
            inThread
            onProfile={onProfile}
          />
        )}
        <p className="thread-count">
          {thread.loading ? 'Loading replies…' : `${thread.replies.length} ${thread.replies.length === 1 ? 'reply' : 'replies'}`}
        </p>
        {thread.replies.map((reply) => (
          <MessageRow
            key={reply.seq}
            model={model}
            me={state.me}
            channel={channel}
            message={reply}
            profile={reply.author ? state.users.get(reply.author) : undefined}
            grouped={false}
            reactions={reactions?.get(reply.seq)}
            seenBy={null}
            editing={editing(reply.seq)}
            canModerate={false}
            highlighted={false}
            inThread
            onProfile={onProfile}
          />
        ))}
        {pending.map((entry) => (
          <PendingRow key={entry.cid} model={model} me={state.me} entry={entry} grouped={false} />
        ))}
      </div>
      {thread.root && thread.root.deletedAt === null && (
        <Composer model={model} channel={channel} label={labelOf(channel)} replyTo={thread.root.seq} users={state.knownUsers} me={state.me} />
      )}
    </PanelFrame>
  );
}

export function SearchPanel({ model, state }: { model: ChatModel; state: ChatState }) {
  const search = state.search;
  const [query, setQuery] = useState(search.query);
  const [here, setHere] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void model.search(query, here ? state.current : null);
  };
  const words = search.query.toLowerCase().split(/\s+/).filter(Boolean);
  return (
    <PanelFrame title="Search" onClose={() => model.closePanel()}>
      <form className="search-form" role="search" onSubmit={submit}>
        <label htmlFor="search-input" className="visually-hidden">
          Search messages
        </label>
        <input id="search-input" type="search" autoFocus placeholder="Search messages" value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="submit" className="primary">
          Search
        </button>
        {state.current && (
          <label className="checkbox">
            <input type="checkbox" checked={here} onChange={(e) => setHere(e.target.checked)} /> Only in {labelOf(state.current)}
          </label>
        )}
      </form>
      <div aria-live="polite" className="search-summary">
        {search.loading && search.results.length === 0 && 'Searching…'}
        {search.searched && !search.loading && search.results.length === 0 && `Nothing found for “${search.query}”.`}
        {search.results.length > 0 && `${search.results.length}${search.next ? '+' : ''} results for “${search.query}”`}
      </div>
      <ul className="result-list">
        {search.results.map((result) => (
          <li key={`${result.channel}-${result.seq}`}>
            <button type="button" className="result" onClick={() => void model.jumpTo(result.channel, result.seq)}>
              <span className="result-meta">
                <strong>{labelOf(result.channel)}</strong> · {result.author ?? 'server'} · {relativeTime(result.createdAt)}
              </span>
              <span className="result-text">{highlightWords(result.text ?? '', words)}</span>
            </button>
          </li>
        ))}
      </ul>
      {search.next && (
        <button type="button" onClick={() => void model.searchMore()} disabled={search.loading}>
          More results
        </button>
      )}
    </PanelFrame>
  );
}

function highlightWords(text: string, words: readonly string[]) {
  if (words.length === 0) return text;
  const pattern = new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi');
  return text.split(pattern).map((part, i) => (i % 2 === 1 ? <mark key={i}>{part}</mark> : part));
}

export function MentionsPanel({ model, state }: { model: ChatModel; state: ChatState }) {
  return (
    <PanelFrame title="Mentions" onClose={() => model.closePanel()}>
      {state.mentions.length === 0 && <p className="muted">When someone writes @{state.me}, it shows here.</p>}
      <ul className="result-list">
        {state.mentions.map((mention) => (
          <li key={mention.seq}>
            <button type="button" className="result" onClick={() => void model.jumpTo(mention.channel, mention.target)}>
              <span className="result-meta">
                <strong>{mention.author}</strong> in {labelOf(mention.channel)} · {timeOf(mention.at)}
              </span>
              <span className="result-text">
                <Markdown text={mention.text} me={state.me} />
              </span>
            </button>
          </li>
        ))}
      </ul>
    </PanelFrame>
  );
}

export function MembersPanel({ model, state, channel, onProfile }: { model: ChatModel; state: ChatState; channel: Channel; onProfile: (user: string) => void }) {
  const [user, setUser] = useState('');
  const [removing, setRemoving] = useState<string | null>(null);
  const myRole = state.members.find((m) => m.user === state.me)?.role ?? null;
  const manages = channel.type === 'private' && (myRole === 'owner' || myRole === 'admin');
  const here = state.views.get(channel.id)?.presence;
  const occupancy = state.views.get(channel.id)?.occupancy ?? null;
  const candidates = state.knownUsers.filter((u) => !state.members.some((m) => m.user === u));
  const add = async (event: FormEvent) => {
    event.preventDefault();
    const name = user.trim();
    // Cleared only if it still holds that name: the next one may be typed while this one is added.
    if (name && (await model.addMember(channel.id, name))) setUser((current) => (current.trim() === name ? '' : current));
  };
  return (
    <PanelFrame title="Members" onClose={() => model.closePanel()}>
      <p className="panel-context">
        {state.members.length} {state.members.length === 1 ? 'member' : 'members'} of {labelOf(channel.id)}
        {occupancy !== null && `, ${occupancy} here now`}
      </p>
      {manages && (
        <form className="add-member" onSubmit={(e) => void add(e)}>
          <label htmlFor="add-member-input">Add someone</label>
          <div className="row">
            <input id="add-member-input" list="add-member-options" placeholder="user name" value={user} onChange={(e) => setUser(e.target.value)} />
            <datalist id="add-member-options">
              {candidates.map((u) => (
                <option key={u} value={u} />
              ))}
            </datalist>
            <button type="submit" className="primary">
              Add
            </button>
          </div>
        </form>
      )}
      <ul className="member-list">
        {state.members.map((member) => {
          const status = state.users.get(member.user);
          return (
            <li key={member.user}>
              <button type="button" className="member-name" onClick={() => onProfile(member.user)}>
                <Avatar user={member.user} size={28} url={status?.avatarUrl} status={status?.status ?? presenceOf(member.user, here, occupancy)} />
                <span>
                  {status?.name ?? member.user}
                  {member.user === state.me && ' (you)'}
                  <span className="visually-hidden">, {lastSeenText(status)}</span>
                </span>
              </button>
              {manages && member.user !== state.me ? (
                <span className="member-controls">
                  <label className="visually-hidden" htmlFor={`role-${member.user}`}>
                    Role of {member.user}
                  </label>
                  <select
                    id={`role-${member.user}`}
                    value={member.role}
                    onChange={(e) => void model.addMember(channel.id, member.user, e.target.value as MemberRole)}
                  >
                    <option value="member">member</option>
                    <option value="admin">admin</option>
                    {myRole === 'owner' && <option value="owner">owner</option>}
                  </select>
                  <button type="button" aria-label={`Remove ${member.user}`} onClick={() => setRemoving(member.user)}>
                    Remove
                  </button>
                </span>
              ) : (
                member.role !== 'member' && <span className="role-badge">{member.role}</span>
              )}
            </li>
          );
        })}
      </ul>
      {removing && (
        <Confirm
          title="Remove member"
          text={`Remove ${removing} from ${labelOf(channel.id)}? They will stop seeing it at once.`}
          action="Remove"
          onConfirm={() => void model.removeMember(channel.id, removing)}
          onClose={() => setRemoving(null)}
        />
      )}
    </PanelFrame>
  );
}

/**
 * A member's dot from the channel's presence when their status is not followed: in
 * occupancy mode the list read is its first page, so a member not on it shows no dot.
 */
function presenceOf(user: string, here: ReadonlyMap<string, number> | undefined, occupancy: number | null): UserState['status'] | undefined {
  if (here?.has(user)) return 'online';
  return occupancy === null ? 'offline' : undefined;
}

export function StatusLine({ status }: { status: Parameters<typeof lastSeenText>[0] }) {
  return (
    <span className="status-line">
      <StatusDot status={status?.status ?? 'offline'} /> {lastSeenText(status)}
    </span>
  );
}
