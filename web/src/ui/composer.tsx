import { type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { ChatModel } from '../model/chat-model.js';
import { Avatar } from './people.js';

/**
 * Where messages are written. Enter sends, Shift+Enter starts a new line, Up in an empty
 * box edits your last message, `@` completes a name. What you type is kept per channel
 * (and thread) across reloads until it is sent.
 */
export function Composer({
  model,
  channel,
  label,
  replyTo = null,
  users,
  me,
}: {
  model: ChatModel;
  channel: string;
  label: string;
  replyTo?: number | null;
  users: readonly string[];
  me: string;
}) {
  const draftKey = replyTo === null ? channel : `${channel}#${replyTo}`;
  const [text, setText] = useState(() => model.draft(draftKey));
  const [caret, setCaret] = useState(0);
  const [choice, setChoice] = useState(0);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const inputId = useId();

  useEffect(() => {
    setText(model.draft(draftKey));
    setDismissed(null);
  }, [model, draftKey]);

  // `@partial` just before the caret: offer the matching names.
  const query = useMemo(() => /(?:^|[^\w@.])@([A-Za-z0-9_.@-]*)$/.exec(text.slice(0, caret))?.[1] ?? null, [text, caret]);
  const suggestions = useMemo(() => {
    if (query === null || dismissed === text) return [];
    const q = query.toLowerCase();
    return users.filter((u) => u !== me && u.toLowerCase().startsWith(q)).slice(0, 8);
  }, [query, users, me, dismissed, text]);
  const open = suggestions.length > 0;
  const active = Math.min(choice, suggestions.length - 1);

  const update = (value: string, position: number) => {
    setText(value);
    setCaret(position);
    setChoice(0);
    model.saveDraft(draftKey, value);
    if (value.trim() !== '') model.typed(channel);
  };

  const complete = (user: string) => {
    const before = text.slice(0, caret).replace(/@([A-Za-z0-9_.@-]*)$/, `@${user} `);
    const value = before + text.slice(caret);
    update(value, before.length);
    requestAnimationFrame(() => {
      area.current?.focus();
      area.current?.setSelectionRange(before.length, before.length);
    });
  };

  const send = () => {
    if (text.trim() === '') return;
    model.send(channel, text, replyTo);
    update('', 0);
    setText('');
    model.saveDraft(draftKey, '');
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.nativeEvent.isComposing) return;
    if (open) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        setChoice((active + step + suggestions.length) % suggestions.length);
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        complete(suggestions[active]!);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setDismissed(text);
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      send();
    } else if (event.key === 'ArrowUp' && text === '') {
      if (model.editLast(channel, replyTo)) event.preventDefault();
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {open && (
        <ul className="mention-suggestions" id={listId} role="listbox" aria-label="People to mention">
          {suggestions.map((user, i) => (
            <li
              key={user}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(event) => {
                event.preventDefault();
                complete(user);
              }}
            >
              <Avatar user={user} size={22} /> {user}
            </li>
          ))}
        </ul>
      )}
      <label className="visually-hidden" htmlFor={inputId}>
        {replyTo === null ? `Message ${label}` : 'Reply in thread'}
      </label>
      <textarea
        ref={area}
        id={inputId}
        aria-autocomplete="list"
        aria-controls={open ? listId : undefined}
        aria-activedescendant={open ? `${listId}-${active}` : undefined}
        placeholder={replyTo === null ? `Message ${label}` : 'Reply…'}
        value={text}
        rows={Math.min(8, Math.max(1, text.split('\n').length))}
        onKeyDown={onKeyDown}
        onChange={(event) => update(event.target.value, event.target.selectionStart)}
        onSelect={(event) => setCaret(event.currentTarget.selectionStart)}
      />
      <button className="primary send" type="submit" disabled={text.trim() === ''}>
        Send
      </button>
    </form>
  );
}
