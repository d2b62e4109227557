import { type KeyboardEvent, memo, useState } from 'react';
import type { ChannelEvent, ReactionCount, UserState } from '../../../client/src/index.js';
import { type ChatModel, linkTo, type PendingMessage } from '../model/chat-model.js';
import { MessageFiles } from './attachments.js';
import { Markdown, mentions } from './markdown.js';
import { Confirm } from './modal.js';
import { Avatar, relativeTime, timeOf } from './people.js';
import { Icon } from './icons.js';
import { ReactionPicker } from './reaction-picker.js';

export interface MessageRowProps {
  readonly model: ChatModel;
  readonly me: string;
  readonly channel: string;
  readonly message: ChannelEvent;
  readonly grouped: boolean;
  readonly reactions: readonly ReactionCount[] | undefined;
  /** Who has read up to this message ("seen by", on your last message). */
  readonly seenBy: readonly string[] | null;
  readonly editing: boolean;
  readonly canModerate: boolean;
  readonly highlighted: boolean;
  readonly inThread: boolean;
  readonly onProfile: (user: string) => void;
  /** The author's profile, when known: their display name and avatar (live, from the users list). */
  readonly profile?: UserState | undefined;
}

/** One message: avatar and name (first of a group), text, reactions, thread summary, hover actions. */
export const MessageRow = memo(function MessageRow(props: MessageRowProps) {
  const { model, me, channel, message, grouped } = props;
  const [picker, setPicker] = useState<DOMRect | null>(null);
  const [confirming, setConfirming] = useState(false);
  const author = message.author ?? 'server';
  const deleted = message.deletedAt !== null;
  const mine = message.author === me;
  const time = timeOf(message.createdAt);
  const classes = ['message'];
  if (grouped) classes.push('grouped');
  if (deleted) classes.push('deleted');
  if (!deleted && !mine && mentions(message.text, me)) classes.push('mentions-me');
  if (props.highlighted) classes.push('highlighted');

  const copyLink = async () => {
    const link = linkTo(channel, message.seq);
    try {
      await navigator.clipboard.writeText(link);
      model.toast('Link copied.', 'info');
    } catch {
      model.toast(`Link: ${link}`, 'info');
    }
  };

  return (
    <article
      className={classes.join(' ')}
      data-seq={message.seq}
      aria-label={`${author}, ${time}`}
      tabIndex={-1}
    >
      <div className="gutter">
        {grouped ? (
          <time className="hover-time" dateTime={new Date(message.createdAt).toISOString()}>
            {time}
          </time>
        ) : (
          <button type="button" className="avatar-button" aria-label={`Profile of ${author}`} onClick={() => props.onProfile(author)}>
            <Avatar user={author} url={props.profile?.avatarUrl} />
          </button>
        )}
      </div>
      <div className="content">
        {!grouped && (
          <div className="meta">
            <button type="button" className="author" onClick={() => props.onProfile(author)}>
              {props.profile?.name ?? author}
            </button>
            <time dateTime={new Date(message.createdAt).toISOString()} title={new Date(message.createdAt).toLocaleString()}>
              {time}
            </time>
          </div>
        )}
        {props.editing ? (
          <EditForm model={model} channel={channel} message={message} />
        ) : (
          <div className="body">
            {deleted ? (
              <p className="md-text">This message was deleted.</p>
            ) : (
              <>
                {message.text !== null && <Markdown text={message.text} me={me} />}
                {message.editedAt !== null && <span className="edited">(edited)</span>}
                {message.attachments && <MessageFiles model={model} files={message.attachments} />}
              </>
            )}
          </div>
        )}
        {props.reactions && props.reactions.length > 0 && (
          <Reactions model={model} channel={channel} seq={message.seq} me={me} reactions={props.reactions} />
        )}
        {message.thread && !props.inThread && (
          <button type="button" className="thread-summary" onClick={() => void model.openThread(channel, message.seq)}>
            <span className="reply-count">
              {message.thread.replies} {message.thread.replies === 1 ? 'reply' : 'replies'}
            </span>
            <span className="last-reply">Last reply {relativeTime(message.thread.lastReplyAt)}</span>
          </button>
        )}
        {props.seenBy && props.seenBy.length > 0 && (
          <p className="seen-by">Seen by {props.seenBy.join(', ')}</p>
        )}
      </div>
      {!deleted && !props.editing && (
        <div className="actions" role="toolbar" aria-label="Message actions">
          <button
            type="button"
            aria-label="Add reaction"
            title="Add reaction"
            onClick={(event) => setPicker(event.currentTarget.getBoundingClientRect())}
          >
            <Icon name="react" />
          </button>
          {!props.inThread && (
            <button
              type="button"
              aria-label="Reply in thread"
              title="Reply in thread"
              onClick={() => void model.openThread(channel, message.seq)}
            >
              <Icon name="reply" />
            </button>
          )}
          {mine && (
            <button type="button" aria-label="Edit message" title="Edit" onClick={() => model.startEditing(channel, message.seq)}>
              <Icon name="edit" />
            </button>
          )}
          {(mine || props.canModerate) && (
            <button type="button" aria-label="Delete message" title="Delete" onClick={() => setConfirming(true)}>
              <Icon name="trash" />
            </button>
          )}
          <button type="button" aria-label="Copy link" title="Copy link" onClick={() => void copyLink()}>
            <Icon name="link" />
          </button>
        </div>
      )}
      {picker && (
        <ReactionPicker
          anchor={picker}
          onClose={() => setPicker(null)}
          onPick={(emoji) => {
            setPicker(null);
            void model.toggleReaction(channel, message.seq, emoji);
          }}
        />
      )}
      {confirming && (
        <Confirm
          title="Delete message"
          text="Delete this message for everyone? This cannot be undone."
          action="Delete"
          onConfirm={() => void model.remove(channel, message.seq)}
          onClose={() => setConfirming(false)}
        />
      )}
    </article>
  );
});

function Reactions(props: {
  model: ChatModel;
  channel: string;
  seq: number;
  me: string;
  reactions: readonly ReactionCount[];
}) {
  return (
    <ul className="reactions" aria-label="Reactions">
      {props.reactions.map((reaction) => {
        const mine = reaction.users.includes(props.me);
        const who = reaction.users.map((u) => (u === props.me ? 'you' : u)).join(', ');
        return (
          <li key={reaction.emoji}>
            <button
              type="button"
              className={mine ? 'reaction mine' : 'reaction'}
              aria-pressed={mine}
              aria-label={`${reaction.emoji} ${reaction.count}: ${who}`}
              title={`${who} reacted with ${reaction.emoji}`}
              onClick={() => void props.model.toggleReaction(props.channel, props.seq, reaction.emoji)}
            >
              <span aria-hidden="true">{reaction.emoji}</span>
              <span className="count" aria-hidden="true">
                {reaction.count}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function EditForm({ model, channel, message }: { model: ChatModel; channel: string; message: ChannelEvent }) {
  const [text, setText] = useState(message.text ?? '');
  const [problem, setProblem] = useState<string | null>(null);
  const save = async () => {
    if (text.trim() === '') {
      setProblem('A message cannot be empty. Delete it instead, or press Escape to keep it.');
      return;
    }
    if (text.trim() === (message.text ?? '').trim()) {
      model.stopEditing();
      return;
    }
    await model.edit(channel, message.seq, text);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      model.stopEditing();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void save();
    }
  };
  return (
    <form
      className="edit-form"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <label className="visually-hidden" htmlFor={`edit-${channel}-${message.seq}`}>
        Edit message
      </label>
      <textarea
        id={`edit-${channel}-${message.seq}`}
        value={text}
        autoFocus
        rows={Math.min(8, Math.max(1, text.split('\n').length))}
        onFocus={(event) => event.currentTarget.setSelectionRange(text.length, text.length)}
        onChange={(event) => {
          setText(event.target.value);
          setProblem(null);
        }}
        onKeyDown={onKeyDown}
        aria-invalid={problem !== null}
        aria-describedby={problem ? `edit-problem-${message.seq}` : undefined}
      />
      {problem && (
        <p id={`edit-problem-${message.seq}`} className="field-error" role="alert">
          {problem}
        </p>
      )}
      <div className="edit-actions">
        <span className="hint">Escape to cancel, Enter to save</span>
        <button type="button" onClick={() => model.stopEditing()}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Save
        </button>
      </div>
    </form>
  );
}

/** A message you sent that the server has not stored yet: "sending", or refused with a reason. */
export function PendingRow({ model, me, entry, grouped }: { model: ChatModel; me: string; entry: PendingMessage; grouped: boolean }) {
  return (
    <article className={`message pending${grouped ? ' grouped' : ''}${entry.error ? ' failed' : ''}`} aria-label={`${me}, not sent yet`}>
      <div className="gutter">{!grouped && <Avatar user={me} />}</div>
      <div className="content">
        {!grouped && (
          <div className="meta">
            <span className="author">{me}</span>
          </div>
        )}
        <div className="body">
          {entry.text !== '' && <Markdown text={entry.text} me={me} />}
          {entry.attachments && entry.attachments.length > 0 && (
            <p className="sending">
              {entry.attachments.length} {entry.attachments.length === 1 ? 'file' : 'files'}
            </p>
          )}
        </div>
        {entry.error ? (
          <div className="send-error" role="alert">
            <span>{entry.error}</span>
            <button type="button" onClick={() => model.retrySend(entry.cid)}>
              Retry
            </button>
            <button type="button" onClick={() => model.discardPending(entry.cid)}>
              Discard
            </button>
          </div>
        ) : (
          <p className="sending">Sending…</p>
        )}
      </div>
    </article>
  );
}
