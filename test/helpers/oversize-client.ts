import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

/**
 * Clients that send too much, run in a process of their own: with the server's event loop
 * the client would read the answer before the server's close reaches it, and never see
 * the reset a real client on another machine sees (the bug of issue 24 did not show
 * in-process, and showed in 5 to 15 of 20 attempts from another process).
 */
export type OversizeJob =
  | {
      /** Node's fetch: a Buffer body (declared Content-Length) or a stream (chunked). */
      readonly kind: 'fetch';
      readonly url: string;
      readonly method?: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly framing: Framing;
      readonly bytes: number;
      /** One header of this many bytes more. */
      readonly headerBytes?: number;
      readonly attempts: number;
    }
  | {
      /**
       * A raw socket. `send-all`: writes the whole request before it reads a byte (as
       * Python's http.client does), the hardest client to answer. `endless`: never stops
       * sending, and reads meanwhile.
       */
      readonly kind: 'raw';
      readonly url: string;
      readonly method?: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly framing: Framing;
      readonly mode: 'send-all' | 'endless';
      readonly bytes: number;
      readonly headerBytes?: number;
      /** Ask for a WebSocket upgrade. */
      readonly upgrade?: boolean;
      readonly attempts: number;
    }
  | {
      /** The `ws` client opening a WebSocket with one header of `headerBytes`. */
      readonly kind: 'ws';
      readonly url: string;
      readonly headerBytes: number;
      readonly attempts: number;
    };

export type Framing = 'declared' | 'chunked';

/** One attempt, as the client saw it. */
export interface Attempt {
  /** The answer's status; absent when none arrived (`error` says why). */
  readonly status?: number;
  readonly connection?: string | null;
  readonly body?: string;
  readonly error?: string;
  /** Raw: bytes the client had handed to its kernel when the server cut it. */
  readonly bytesWritten?: number;
  /** Raw `endless`: ms from the answer to the server's cut (a reset or close). */
  readonly cutAfterMs?: number;
  /** Raw: how the connection ended: `end` (the server's FIN, then closed), `reset` (ECONNRESET/EPIPE). */
  readonly ended?: 'end' | 'reset' | 'close';
}

const CHUNK = Buffer.alloc(64 * 1024, 'a');

/** Runs `job` in a child process; resolves with each attempt, in order, within `timeoutMs`. */
export function runOversizeClient(job: OversizeJob, timeoutMs: number): Promise<Attempt[]> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${job.kind} client did not finish within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`the ${job.kind} client exited with ${code}: ${err}`));
      else resolve(JSON.parse(out) as Attempt[]);
    });
  });
}

async function runJob(job: OversizeJob): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const declaredBody = job.kind === 'fetch' && job.framing === 'declared' ? Buffer.alloc(job.bytes, 'a') : null;
  for (let i = 0; i < job.attempts; i++) {
    if (job.kind === 'fetch') attempts.push(await fetchOnce(job, declaredBody));
    else if (job.kind === 'raw') attempts.push(await rawOnce(job));
    else attempts.push(await wsOnce(job));
  }
  return attempts;
}

async function fetchOnce(job: Extract<OversizeJob, { kind: 'fetch' }>, declaredBody: Buffer | null): Promise<Attempt> {
  const headers: Record<string, string> = { ...job.headers, ...padding(job.headerBytes) };
  let body: BodyInit | undefined = declaredBody && job.bytes > 0 ? new Uint8Array(declaredBody) : undefined;
  if (job.framing === 'chunked' && job.bytes > 0) body = chunkStream(job.bytes);
  try {
    const response = await fetch(job.url, { method: job.method ?? 'POST', headers, body, duplex: 'half' } as RequestInit);
    return { status: response.status, connection: response.headers.get('connection'), body: await response.text() };
  } catch (error) {
    return { error: describe(error) };
  }
}

function chunkStream(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const size = Math.min(CHUNK.length, total - sent);
      sent += size;
      controller.enqueue(new Uint8Array(CHUNK.buffer, CHUNK.byteOffset, size));
    },
  });
}

function rawOnce(job: Extract<OversizeJob, { kind: 'raw' }>): Promise<Attempt> {
  const url = new URL(job.url);
  // Half-open: the server's FIN (right after its answer) must not stop an endless client sending.
  const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
  const head = [
    `${job.method ?? 'POST'} ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    ...Object.entries({ ...job.headers, ...padding(job.headerBytes) }).map(([name, value]) => `${name}: ${value}`),
    ...(job.upgrade
      ? ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']
      : []),
    ...(job.bytes > 0 || job.mode === 'endless'
      ? [job.framing === 'declared' ? `Content-Length: ${job.mode === 'endless' ? 2 ** 40 : job.bytes}` : 'Transfer-Encoding: chunked']
      : []),
  ].join('\r\n');

  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let answer: Omit<Attempt, 'bytesWritten' | 'ended'> | null = null;
    let answeredAt = 0;
    let failure: string | null = null;
    let done = false;
    const finish = (ended: Attempt['ended']) => {
      if (done) return;
      done = true;
      const cutAfterMs = job.mode === 'endless' && answer ? Date.now() - answeredAt : undefined;
      resolve({ ...(answer ?? { error: failure ?? 'no answer' }), bytesWritten: socket.bytesWritten, cutAfterMs, ended });
    };
    const read = () => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        answer ??= parseAnswer(received);
        if (answer && !answeredAt) answeredAt = Date.now();
      });
    };
    socket.on('error', (error: NodeJS.ErrnoException) => {
      failure ??= error.code ?? error.message;
      // A reset after the answer is the server's cut; before it, the bug.
      finish('reset');
    });
    socket.on('end', () => {
      // The server's FIN: a send-all client is done; an endless one keeps sending until cut.
      if (job.mode === 'send-all') {
        socket.end();
        finish('end');
      }
    });
    socket.on('close', () => finish('close'));

    if (job.mode === 'endless') read();
    void (async () => {
      try {
        await write(socket, `${head}\r\n\r\n`);
        const framed = (data: Buffer) =>
          job.framing === 'chunked' ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data;
        for (let sent = 0; (job.mode === 'endless' || sent < job.bytes) && !done; ) {
          const size = Math.min(CHUNK.length, job.mode === 'endless' ? CHUNK.length : job.bytes - sent);
          await write(socket, framed(CHUNK.subarray(0, size)));
          sent += size;
        }
        if (job.framing === 'chunked' && job.bytes > 0 && !done) await write(socket, '0\r\n\r\n');
      } catch {
        // The 'error' listener records it.
      }
      // Only now does a send-all client read: whatever the server wrote waits in our kernel.
      if (job.mode === 'send-all' && !done) read();
    })();
  });
}

function write(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('destroyed'));
    if (socket.write(data)) return resolve();
    const onDrain = () => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      reject(new Error('closed'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** The answer in `bytes` once its head and its Content-Length of body are in. */
function parseAnswer(bytes: Buffer): Attempt | null {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const [statusLine, ...lines] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  const length = Number(headers.get('content-length') ?? 0);
  if (bytes.length < headEnd + 4 + length) return null;
  return {
    status: Number(statusLine!.split(' ')[1]),
    connection: headers.get('connection') ?? null,
    body: bytes.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8'),
  };
}

function wsOnce(job: Extract<OversizeJob, { kind: 'ws' }>): Promise<Attempt> {
  return new Promise((resolve) => {
    const socket = new WebSocket(job.url, { headers: padding(job.headerBytes) });
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => {
        resolve({ status: response.statusCode, connection: response.headers.connection ?? null, body });
        socket.terminate();
      });
      response.on('error', (error) => resolve({ error: describe(error) }));
    });
    socket.on('open', () => {
      resolve({ status: 101 });
      socket.terminate();
    });
    socket.on('error', (error) => resolve({ error: describe(error) }));
  });
}

function padding(bytes: number | undefined): Record<string, string> {
  return bytes ? { 'x-padding': 'a'.repeat(bytes) } : {};
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const attempts = await runJob(JSON.parse(process.argv[2]!) as OversizeJob);
  process.stdout.write(JSON.stringify(attempts));
}
