import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Channel, ChannelEvent } from '../../../client/src/index.js';
import type { ChannelView } from '../model/channel-view.js';
import { type ChatModel, type ChatState, labelOf, type PendingMessage } from '../model/chat-model.js';
import { MessageRow, PendingRow } from './message-row.js';
import { dayOf, nameOf } from './people.js';
import { VirtualList, type VirtualRow } from './virtual-list.js';

type Row =
  | (VirtualRow & { kind: 'intro' })
  | (VirtualRow & { kind: 'loading' })
  | (VirtualRow & { kind: 'day'; label: string })
  | (VirtualRow & { kind: 'unread' })
  | (VirtualRow & { kind: 'message'; message: ChannelEvent; grouped: boolean })
  | (VirtualRow & { kind: 'pending'; entry: PendingMessage; grouped: boolean });

/** Messages by one author this close together share one name and avatar. */
const GROUP_MS = 5 * 60 * 1000;

export function MessageList({
  model,
  state,
  channel,
  view,
  onProfile,
}: {
  model: ChatModel;
  state: ChatState;
  channel: Channel;
  view: ChannelView;
  onProfile: (user: string) => void;
}) {
  const me = state.me;
  const [atBottom, setAtBottom] = useState(true);
  const [bottomToken, setBottomToken] = useState(0);
  const [highlight, setHighlight] = useState<number | null>(null);
  const outbox = useMemo(
    () => state.outbox.filter((entry) => entry.channel === channel.id && entry.replyTo === null),
    [state.outbox, channel.id],
  );
  const rows = useMemo(() => buildRows(view, outbox, me), [view.messages, view.hasOlder, view.unreadAfter, outbox, me]);

  // Your newest message, and who has read up to it (private channels and DMs).
  const seen = useMemo(() => {
    const last = [...view.messages].reverse().find((m) => m.replyTo === null && m.author === me && m.deletedAt === null);
    if (!last) return null;
    const readers = [...view.positions].filter(([user, seq]) => user !== me && seq >= last.seq).map(([user]) => nameOf(state.users, user));
    return { seq: last.seq, readers: readers.sort() };
  }, [view.messages, view.positions, state.users, me]);

  const focus = view.focus;
  useEffect(() => {
    if (!focus?.highlight) return;
    setHighlight(focus.seq);
    const timer = setTimeout(() => setHighlight(null), 4000);
    return () => clearTimeout(timer);
  }, [focus?.token]);

  const lastNewest = useRef(view.messages.at(-1)?.seq);
  const [announcement, setAnnouncement] = useState('');
  useEffect(() => {
    const newest = view.messages.at(-1);
    if (newest && lastNewest.current !== undefined && newest.seq > lastNewest.current && newest.author !== me) {
      setAnnouncement(`New message from ${newest.author ? nameOf(state.users, newest.author) : 'server'}: ${(newest.text ?? '').slice(0, 140)}`);
    }
    lastNewest.current = newest?.seq;
  }, [view.messages, me]);

  const onNearTop = useCallback(() => void model.loadOlder(channel.id), [model, channel.id]);
  const onNearBottom = useCallback(() => void model.loadNewer(channel.id), [model, channel.id]);
  const role = state.roles.get(channel.id);
  const canModerate = role === 'owner' || role === 'admin';

  const render = useCallback(
    (row: Row) => {
      switch (row.kind) {
        case 'intro':
          return (
            <div className="channel-intro">
              <p className="intro-title">{channel.type === 'direct' ? `This is the start of your conversation with ${labelOf(channel.id, me)}.` : `This is the very beginning of ${labelOf(channel.id)}.`}</p>
              {channel.title && channel.title !== channel.id && <p>{channel.title}</p>}
            </div>
          );
        case 'loading':
          return view.olderFailed ? (
            <p className="loading-row">
              Older messages did not load.{' '}
              <button type="button" className="link-button" onClick={() => void model.loadOlder(channel.id, true)}>
                Retry
              </button>
            </p>
          ) : (
            <p className="loading-row">Loading older messages…</p>
          );
        case 'day':
          return (
            <div className="day-separator">
              <span>{row.label}</span>
            </div>
          );
        case 'unread':
          return (
            <div className="unread-divider">
              <span>New messages</span>
            </div>
          );
        case 'pending':
          return <PendingRow model={model} me={me} entry={row.entry} grouped={row.grouped} />;
        case 'message':
          return (
            <MessageRow
              model={model}
              me={me}
              channel={channel.id}
              message={row.message}
              profile={row.message.author ? state.users.get(row.message.author) : undefined}
              grouped={row.grouped}
              reactions={view.reactions.get(row.message.seq)}
              seenBy={seen && seen.seq === row.message.seq ? seen.readers : null}
              editing={state.editing?.channel === channel.id && state.editing.seq === row.message.seq}
              canModerate={canModerate}
              highlighted={highlight === row.message.seq}
              inThread={false}
              onProfile={onProfile}
            />
          );
      }
    },
    // state.users too: a profile (name, picture) that arrives or changes after the rows were
    // drawn must redraw them; MessageRow's memo keeps that to the rows whose author changed.
    [model, me, channel, view.reactions, view.olderFailed, seen, state.editing, state.users, canModerate, highlight, onProfile],
  );

  const focusKey = focus ? { key: `m-${focus.seq}`, token: focus.token } : null;
  const showJump = !atBottom || view.hasNewer;

  return (
    <div className="message-pane">
      {view.loaded && view.messages.length === 0 && outbox.length === 0 && !view.hasOlder ? (
        <EmptyChannel model={model} state={state} channel={channel} />
      ) : (
        <VirtualList
          rows={rows}
          render={render}
          label={`Messages in ${labelOf(channel.id, me)}`}
          busy={!view.loaded || view.loadingOlder || view.loadingNewer}
          focus={focusKey}
          bottomToken={bottomToken}
          onNearTop={onNearTop}
          onNearBottom={onNearBottom}
          onAtBottom={setAtBottom}
        />
      )}
      {showJump && (
        <button
          type="button"
          className="jump-latest"
          onClick={() => {
            void model.jumpToLatest(channel.id).then(() => setBottomToken((n) => n + 1));
          }}
        >
          Jump to latest ↓
        </button>
      )}
      <p className="visually-hidden" aria-live="polite">
        {announcement}
      </p>
    </div>
  );
}

function EmptyChannel({ model, state, channel }: { model: ChatModel; state: ChatState; channel: Channel }) {
  if (state.firstRun && channel.id === 'general') {
    return (
      <div className="empty first-run">
        <h2>Welcome to Switchboard, {state.me}!</h2>
        <p>
          This is <strong>#general</strong>, the channel everyone starts in. Say hello below; people who open this
          address join you here.
        </p>
        <ul>
          <li>Create or join more channels with <strong>Browse channels</strong> in the sidebar.</li>
          <li>
            Press <kbd>Ctrl</kbd>+<kbd>K</kbd> to switch channels, <kbd>@</kbd> to mention someone.
          </li>
        </ul>
        <button type="button" onClick={() => model.dismissFirstRun()}>
          Got it
        </button>
      </div>
    );
  }
  return (
    <div className="empty">
      <p>No messages in {labelOf(channel.id, state.me)} yet. Say hello!</p>
    </div>
  );
}

function buildRows(view: ChannelView, outbox: readonly PendingMessage[], me: string): Row[] {
  const rows: Row[] = [];
  if (!view.loaded) return rows;
  if (view.hasOlder) rows.push({ kind: 'loading', key: 'loading-older', estimate: 40, edge: true });
  else rows.push({ kind: 'intro', key: 'intro', estimate: 80, edge: true });
  let previous: ChannelEvent | null = null;
  let lastDay = '';
  let dividerPlaced = view.unreadAfter === null;
  const seenCids = new Set<string>();
  for (const message of view.messages) {
    if (message.cid) seenCids.add(message.cid);
    if (message.replyTo !== null) continue; // Replies live in their thread.
    const day = new Date(message.createdAt).toDateString();
    let breakGroup = false;
    if (day !== lastDay) {
      rows.push({ kind: 'day', key: `day-${day}`, label: dayOf(message.createdAt), estimate: 40, edge: true });
      lastDay = day;
      breakGroup = true;
    }
    if (!dividerPlaced && message.seq > view.unreadAfter! && message.author !== me) {
      rows.push({ kind: 'unread', key: 'unread', estimate: 32, edge: true });
      dividerPlaced = true;
      breakGroup = true;
    }
    const grouped =
      !breakGroup &&
      previous !== null &&
      previous.author === message.author &&
      previous.deletedAt === null &&
      message.createdAt - previous.createdAt < GROUP_MS;
    rows.push({ kind: 'message', key: `m-${message.seq}`, message, grouped, estimate: grouped ? 28 : 62 });
    previous = message;
  }
  if (!view.hasNewer) {
    for (const entry of outbox) {
      if (seenCids.has(entry.cid)) continue;
      const grouped = previous !== null && previous.author === me && entry.createdAt - previous.createdAt < GROUP_MS;
      rows.push({ kind: 'pending', key: `p-${entry.cid}`, entry, grouped, estimate: grouped ? 48 : 80 });
    }
  }
  return rows;
}
