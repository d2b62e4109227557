import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A WebSocket client cut down to what a load generator needs. In `count` mode it walks
 * frame headers and skips payloads, so one client costs the generator a few byte reads
 * per frame instead of a UTF-8 decode and a JSON.parse: with 2 cores, ordinary clients
 * saturate long before the server does. In `decode` mode every text frame is handed over
 * as a string (setup, probes, resume checks).
 */
export interface CountMarker {
  /** A byte at this offset of the payload tells a delivery from other frames. */
  readonly offset: number;
  readonly byte: number;
}

export interface RawWsOptions {
  readonly port: number;
  readonly path: string;
  readonly marker: CountMarker;
  /** Engine.IO pings are text frames "2" that must be answered with "3". */
  readonly answerEnginePings?: boolean;
  readonly connectTimeoutMs?: number;
  /** Extra request header lines for the upgrade (`Authorization: Bearer ...`). */
  readonly headers?: readonly string[];
}

export class RawWs {
  /** Deliveries (frames with the marker) and their bytes on the wire, header included. */
  deliveries = 0;
  deliveryBytes = 0;
  /** Every data frame (heartbeats excluded), so the orchestrator can tell when a setup storm has settled. */
  frames = 0;
  closeCode: number | null = null;
  onText: ((text: string) => void) | null = null;
  onClosed: ((code: number | null) => void) | null = null;
  /** `decode`: every text frame goes to onText. `count`: only counted. */
  mode: 'count' | 'decode' = 'decode';

  readonly #options: RawWsOptions;
  #socket: Socket | null = null;
  #head: Buffer | null = null;
  #need = 0;
  #pos = 0;
  #opcode = 0;
  #frameBytes = 0;
  #markerPending = false;
  #counted = false;
  #capture: Buffer[] | null = null;
  readonly #waiters = new Set<(text: string) => void>();

  constructor(options: RawWsOptions) {
    this.#options = options;
  }

  /** Connects and completes the HTTP upgrade. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: this.#options.port, noDelay: true });
      this.#socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('connect timed out'));
      }, this.#options.connectTimeoutMs ?? 30_000);
      let response = Buffer.alloc(0);
      const onHandshake = (chunk: Buffer) => {
        response = Buffer.concat([response, chunk]);
        const end = response.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        socket.off('data', onHandshake);
        const status = response.subarray(0, response.indexOf('\r\n')).toString();
        if (!/^HTTP\/1\.1 101/.test(status)) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${status}`));
          return;
        }
        socket.on('data', (data: Buffer) => this.#push(data));
        const rest = response.subarray(end + 4);
        resolve();
        if (rest.length > 0) this.#push(rest);
      };
      socket.on('data', onHandshake);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        reject(new Error('closed during handshake'));
        this.onClosed?.(this.closeCode);
      });
      socket.once('connect', () => {
        socket.on('error', () => {});
        const key = randomBytes(16).toString('base64');
        socket.write(
          `GET ${this.#options.path} HTTP/1.1\r\nHost: 127.0.0.1:${this.#options.port}\r\n` +
            `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
            `${(this.#options.headers ?? []).map((line) => `${line}\r\n`).join('')}\r\n`,
        );
      });
    });
  }

  /** Resolves with the first text frame that `accept` returns a value for (decode mode). */
  waitFor<T>(accept: (text: string) => T | undefined, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const waiter = (text: string) => {
        const value = accept(text);
        if (value === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error('timed out waiting for a frame'));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  send(text: string): void {
    this.#socket?.write(maskedFrame(0x1, Buffer.from(text)));
  }

  get bufferedBytes(): number {
    return this.#socket?.writableLength ?? 0;
  }

  close(): void {
    const socket = this.#socket;
    if (!socket || socket.destroyed) return;
    socket.end(maskedFrame(0x8, Buffer.from([0x03, 0xe8])));
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.#socket?.destroy();
  }

  get isOpen(): boolean {
    return this.#socket !== null && !this.#socket.destroyed;
  }

  #push(chunk: Buffer): void {
    let buf = chunk;
    let i = 0;
    while (i < buf.length) {
      if (this.#need > 0) {
        const n = Math.min(this.#need, buf.length - i);
        this.#consume(buf, i, n);
        i += n;
        this.#need -= n;
        if (this.#need === 0) this.#finish();
        continue;
      }
      if (this.#head) {
        buf = Buffer.concat([this.#head, buf.subarray(i)]);
        i = 0;
        this.#head = null;
      }
      const available = buf.length - i;
      if (available < 2) {
        this.#head = Buffer.from(buf.subarray(i));
        return;
      }
      let length = buf[i + 1]! & 0x7f;
      let headerLength = 2;
      if (length === 126) {
        if (available < 4) {
          this.#head = Buffer.from(buf.subarray(i));
          return;
        }
        length = buf.readUInt16BE(i + 2);
        headerLength = 4;
      } else if (length === 127) {
        if (available < 10) {
          this.#head = Buffer.from(buf.subarray(i));
          return;
        }
        length = buf.readUInt32BE(i + 6);
        headerLength = 10;
      }
      this.#start(buf[i]! & 0x0f, length, headerLength);
      i += headerLength;
      if (length === 0) this.#finish();
    }
  }

  #dispatch(text: string): void {
    this.onText?.(text);
    for (const waiter of this.#waiters) waiter(text);
  }

  #start(opcode: number, length: number, headerLength: number): void {
    this.#opcode = opcode;
    this.#need = length;
    this.#pos = 0;
    this.#frameBytes = headerLength + length;
    this.#counted = false;
    this.#markerPending = opcode === 0x1 && length > this.#options.marker.offset;
    const wantText = opcode === 0x1 && (this.mode === 'decode' || (this.#options.answerEnginePings === true && length === 1));
    this.#capture = wantText || opcode >= 0x8 ? [] : null;
  }

  #consume(buf: Buffer, i: number, n: number): void {
    if (this.#markerPending) {
      const offset = this.#options.marker.offset;
      if (offset >= this.#pos && offset < this.#pos + n) {
        this.#counted = buf[i + offset - this.#pos] === this.#options.marker.byte;
        this.#markerPending = false;
      }
    }
    this.#capture?.push(buf.subarray(i, i + n));
    this.#pos += n;
  }

  #finish(): void {
    // Heartbeats (pings, Engine.IO "2") are not traffic: counting them, setup would never look settled.
    if (this.#opcode === 0x1 && !(this.#options.answerEnginePings && this.#frameBytes === 3)) this.frames++;
    const payload = this.#capture ? (this.#capture.length === 1 ? this.#capture[0]! : Buffer.concat(this.#capture)) : null;
    this.#capture = null;
    switch (this.#opcode) {
      case 0x1:
        if (this.#counted) {
          this.deliveries++;
          this.deliveryBytes += this.#frameBytes;
        }
        if (!payload) return;
        if (this.#options.answerEnginePings && payload.length === 1 && payload[0] === 0x32) this.send('3');
        else if (this.mode === 'decode') this.#dispatch(payload.toString('utf8'));
        return;
      case 0x8:
        this.closeCode = payload && payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.#socket?.end();
        return;
      case 0x9:
        this.#socket?.write(maskedFrame(0xa, payload ?? Buffer.alloc(0)));
        return;
    }
  }
}

/** A client frame: clients must mask (RFC 6455 section 5.3). */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  const mask = randomBytes(4);
  mask.copy(frame, headerLength);
  const start = headerLength + 4;
  for (let k = 0; k < length; k++) frame[start + k] = payload[k]! ^ mask[k & 3]!;
  return frame;
}
