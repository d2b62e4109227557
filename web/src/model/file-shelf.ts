import type { FileLinks, SwitchboardClient } from '../../../client/src/index.js';
import { humanError } from './human-errors.js';

/** A file on its way into a message: uploading, uploaded (ready to send), or refused. */
export interface Upload {
  readonly key: number;
  /** The composer it belongs to (a channel, or a thread in it). */
  readonly slot: string;
  readonly name: string;
  readonly size: number;
  readonly sent: number;
  /** The uploaded file, once the server has it. */
  readonly file: FileLinks | null;
  readonly error: string | null;
  /** A local preview of an image (an object URL), before and after it is uploaded. */
  readonly preview: string | null;
}

export interface ShelfState {
  readonly uploads: readonly Upload[];
  /** Signed links to files messages carry, by id (asked for as rows show them). */
  readonly links: ReadonlyMap<string, FileLinks>;
}

/** Links are asked for again this long before they stop working. */
const REFRESH_MARGIN_MS = 60_000;

/**
 * The files of the chat page: uploads from the composers (drop, paste, the attach
 * button) with their progress, and the signed links of files in messages, fetched in
 * one batch per render and again before they expire. React reads it with
 * useSyncExternalStore (`subscribe`, `snapshot`).
 */
export class FileShelf {
  readonly #client: SwitchboardClient;
  readonly #listeners = new Set<() => void>();
  readonly #wanted = new Set<string>();
  readonly #asking = new Set<string>();
  #state: ShelfState = { uploads: [], links: new Map() };
  #nextKey = 1;
  #flush: Promise<void> | null = null;

  constructor(client: SwitchboardClient) {
    this.#client = client;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  snapshot = (): ShelfState => this.#state;

  /** Starts uploading files for the composer `slot` of `channel`. */
  add(channel: string, slot: string, files: readonly File[]): void {
    for (const file of files) {
      const key = this.#nextKey++;
      const preview = file.type.startsWith('image/') ? URL.createObjectURL(file) : null;
      const upload: Upload = { key, slot, name: file.name || 'pasted image', size: file.size, sent: 0, file: null, error: null, preview };
      this.#setUploads([...this.#state.uploads, upload]);
      const name = file.name || `pasted-${new Date().toISOString().replace(/[:.]/g, '-')}.${file.type.split('/')[1] ?? 'bin'}`;
      this.#client
        .upload(file, { channel, name, onProgress: ({ sent }) => this.#update(key, { sent }) })
        .then(
          (uploaded) => this.#update(key, { file: uploaded, sent: uploaded.size }),
          (error: unknown) => this.#update(key, { error: humanError('upload', error) }),
        );
    }
  }

  remove(key: number): void {
    const upload = this.#state.uploads.find((u) => u.key === key);
    if (upload?.preview) URL.revokeObjectURL(upload.preview);
    this.#setUploads(this.#state.uploads.filter((u) => u.key !== key));
  }

  /** Whether a composer's files are all uploaded (nothing still on its way). */
  busy(slot: string): boolean {
    return this.#state.uploads.some((u) => u.slot === slot && u.file === null && u.error === null);
  }

  /** The uploaded files of a composer, for its message; they leave the shelf. */
  take(slot: string): string[] {
    const ready = this.#state.uploads.filter((u) => u.slot === slot && u.file !== null);
    for (const upload of ready) this.remove(upload.key);
    return ready.map((u) => u.file!.id);
  }

  /** Asks for links to these files (once per render, together), unless fresh ones are known. */
  want(ids: readonly string[]): void {
    const now = Date.now();
    for (const id of ids) {
      const known = this.#state.links.get(id);
      if ((!known || known.urlsExpireAt - REFRESH_MARGIN_MS < now) && !this.#asking.has(id)) this.#wanted.add(id);
    }
    if (this.#wanted.size > 0) this.#flush ??= Promise.resolve().then(() => this.#ask());
  }

  async #ask(): Promise<void> {
    const ids = [...this.#wanted].slice(0, 100);
    for (const id of ids) {
      this.#wanted.delete(id);
      this.#asking.add(id);
    }
    this.#flush = null;
    try {
      const files = await this.#client.fileLinks(ids);
      const links = new Map(this.#state.links);
      for (const file of files) links.set(file.id, file);
      this.#set({ ...this.#state, links });
    } catch {
      // Shown as unavailable; asked again the next time a row wants it.
    } finally {
      for (const id of ids) this.#asking.delete(id);
      if (this.#wanted.size > 0) this.#flush ??= Promise.resolve().then(() => this.#ask());
    }
  }

  #update(key: number, change: Partial<Upload>): void {
    this.#setUploads(this.#state.uploads.map((u) => (u.key === key ? { ...u, ...change } : u)));
  }

  #setUploads(uploads: readonly Upload[]): void {
    this.#set({ ...this.#state, uploads });
  }

  #set(state: ShelfState): void {
    this.#state = state;
    for (const listener of this.#listeners) listener();
  }
}

/** A size as people read it: 930 B, 48 KB, 3.2 MB. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
