import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { afterEach } from 'vitest';
import { Waiters } from './waiters.js';

export interface SseMessage {
  readonly event: string;
  readonly data: string;
}

const opened: SseClient[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.close();
});

/**
 * A plain HTTP reader of an SSE stream (`/sse?channels=`, `/stream/:channel`), closed after
 * the test: `status` and `body` tell a refusal, `messages` the events of an open stream,
 * in order. Waits on conditions, never on time.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  status = 0;
  /** The body of a refused request (JSON). */
  body = '';
  ended = false;
  /** The last `id:` the server sent: what a reconnecting EventSource sends as Last-Event-ID. */
  lastEventId: string | null = null;
  readonly responded: Promise<void>;
  readonly #request: ClientRequest;
  readonly #waiters = new Waiters();
  #buffer = '';

  constructor(url: string, options: { headers?: Record<string, string>; localAddress?: string } = {}) {
    opened.push(this);
    this.#request = request(url, { headers: { accept: 'text/event-stream', ...options.headers }, localAddress: options.localAddress });
    this.responded = new Promise((resolve, reject) => {
      this.#request.once('response', (response: IncomingMessage) => {
        this.status = response.statusCode ?? 0;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (this.status !== 200) this.body += chunk;
          else this.#parse(chunk);
          this.#waiters.wake();
        });
        for (const event of ['end', 'close']) {
          response.once(event, () => {
            this.ended = true;
            this.#waiters.wake();
          });
        }
        response.once('error', () => {});
        resolve();
      });
      this.#request.once('error', (error) => {
        this.ended = true;
        this.#waiters.wake();
        reject(error);
      });
    });
    this.responded.catch(() => {});
    this.#request.end();
  }

  /** The parsed `data` of every `message` event (stored events), in order. */
  events<T = { channel: string; seq: number; data: unknown }>(): T[] {
    return this.messages.filter((m) => m.event === 'message').map((m) => JSON.parse(m.data) as T);
  }

  waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.#waiters.until(check, timeoutMs, () => `timed out waiting for ${what}; status ${this.status}, ${this.messages.length} messages`).then(() => {});
  }

  /** Resolves once the stream is live (its `ready` event), or rejects with what refused it. */
  async ready(): Promise<void> {
    await this.responded;
    if (this.status !== 200) throw new Error(`SSE refused with ${this.status}: ${this.body}`);
    await this.waitUntil(() => this.messages.some((m) => m.event === 'ready' || m.event === 'error') || this.ended, 'ready');
    const failure = this.messages.find((m) => m.event === 'error');
    if (failure) throw new Error(`SSE stream failed: ${failure.data}`);
  }

  close(): void {
    this.#request.destroy();
  }

  #parse(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice('event: '.length);
        else if (line.startsWith('id: ')) this.lastEventId = line.slice('id: '.length);
        else if (line.startsWith('data: ')) data.push(line.slice('data: '.length));
      }
      if (data.length > 0) this.messages.push({ event, data: data.join('\n') });
    }
  }
}
