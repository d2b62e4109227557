/**
 * What the page keeps in localStorage, per signed-in user: drafts, messages not yet
 * acknowledged, the last open channel. Storage can be full or disabled (private windows):
 * every write is best effort, and the page works without it.
 */

export interface PendingMessage {
  /** The client id the message is published with, every time: the server stores it once. */
  readonly cid: string;
  readonly channel: string;
  readonly text: string;
  readonly replyTo: number | null;
  readonly createdAt: number;
  /** Set when the server refused it (not when the connection was down): shown with "Retry". */
  readonly error: string | null;
  /** Uploaded files it carries. */
  readonly attachments?: readonly string[];
}

function read<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

function write(key: string, value: unknown): void {
  try {
    if (value === null || value === '') localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Full or disabled storage: the value lives only in memory for this page.
  }
}

export class LocalStore {
  readonly #prefix: string;

  constructor(user: string) {
    this.#prefix = `switchboard.${user}.`;
  }

  draft(channel: string): string {
    return read<string>(`${this.#prefix}draft.${channel}`, '');
  }

  setDraft(channel: string, text: string): void {
    write(`${this.#prefix}draft.${channel}`, text.trim() === '' ? null : text);
  }

  outbox(): PendingMessage[] {
    const stored = read<unknown>(`${this.#prefix}outbox`, []);
    return Array.isArray(stored) ? (stored as PendingMessage[]).filter((entry) => typeof entry?.cid === 'string') : [];
  }

  setOutbox(entries: readonly PendingMessage[]): void {
    write(`${this.#prefix}outbox`, entries.length === 0 ? null : entries);
  }

  lastChannel(): string | null {
    return read<string | null>(`${this.#prefix}last`, null);
  }

  setLastChannel(channel: string): void {
    write(`${this.#prefix}last`, channel);
  }

  /** Public channels this user joined, to draw the sidebar before the server answers. */
  joined(): string[] {
    const stored = read<unknown>(`${this.#prefix}joined`, []);
    return Array.isArray(stored) ? stored.filter((id): id is string => typeof id === 'string') : [];
  }

  setJoined(channels: Iterable<string>): void {
    write(`${this.#prefix}joined`, [...channels]);
  }

  flag(name: string): boolean {
    return read<boolean>(`${this.#prefix}flag.${name}`, false);
  }

  setFlag(name: string): void {
    write(`${this.#prefix}flag.${name}`, true);
  }
}
