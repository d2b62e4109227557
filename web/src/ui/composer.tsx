import { type ClipboardEvent, type DragEvent, type KeyboardEvent, useEffect, useId, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { ChatModel } from '../model/chat-model.js';
import { UploadTray } from './attachments.js';
import { Icon } from './icons.js';
import { Avatar } from './people.js';

/**
 * Where messages are written. Enter sends, Shift+Enter starts a new line, Up in an empty
 * box edits your last message, `@` completes a name. What you type is kept per channel
 * (and thread) across reloads until it is sent. Files dropped on it, pasted into it or
 * chosen with "Attach" upload at once (with a progress bar) and go with the next message.
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
  /** Where the caret goes once a completed name is in the textarea. */
  const completedAt = useRef<number | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const shelf = useSyncExternalStore(model.files.subscribe, model.files.snapshot);
  const files = shelf.uploads.filter((upload) => upload.slot === draftKey);
  const filesReady = files.some((upload) => upload.file !== null) && !model.files.busy(draftKey);
  const attach = (list: FileList | null | undefined) => {
    if (list && list.length > 0) model.files.add(channel, draftKey, [...list]);
  };
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
    completedAt.current = before.length;
    update(value, before.length);
  };

  // In the commit that puts the name in, not a frame later: keys typed meanwhile would land
  // at the end and the late caret move would split them from the rest.
  useLayoutEffect(() => {
    const position = completedAt.current;
    if (position === null) return;
    completedAt.current = null;
    area.current?.focus();
    area.current?.setSelectionRange(position, position);
  });

  const send = () => {
    if (model.files.busy(draftKey)) return;
    const attachments = model.files.take(draftKey);
    if (text.trim() === '' && attachments.length === 0) return;
    model.send(channel, text, replyTo, attachments);
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
      className={dragging ? 'composer dragging' : 'composer'}
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
      onDragOver={(event: DragEvent) => {
        if (!event.dataTransfer.types.includes('Files')) return;
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(event: DragEvent) => {
        if (event.dataTransfer.files.length === 0) return;
        event.preventDefault();
        setDragging(false);
        attach(event.dataTransfer.files);
      }}
    >
      <UploadTray model={model} slot={draftKey} />
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
        onPaste={(event: ClipboardEvent<HTMLTextAreaElement>) => {
          if (event.clipboardData.files.length === 0) return;
          event.preventDefault();
          attach(event.clipboardData.files);
        }}
      />
      <input
        ref={picker}
        type="file"
        multiple
        hidden
        onChange={(event) => {
          attach(event.target.files);
          event.target.value = '';
        }}
      />
      <button type="button" className="attach" aria-label="Attach files" title="Attach files (or drop or paste them)" onClick={() => picker.current?.click()}>
        <Icon name="attach" size={18} />
      </button>
      <button className="primary send" type="submit" disabled={(text.trim() === '' && !filesReady) || model.files.busy(draftKey)}>
        Send
      </button>
    </form>
  );
}
