import { Writable } from 'node:stream';
import { pino, type Logger as PinoLogger, type LoggerOptions } from 'pino';

export type LogFormat = 'json' | 'pretty';

/**
 * Paths never written at the default level: credentials anywhere in a logged object, and
 * message bodies (`text`, `data`) someone might log with an event. Pino replaces them.
 */
export const REDACTED_PATHS = [
  'token',
  'password',
  'ticket',
  'secret',
  'apiKey',
  'text',
  'data',
  '*.token',
  '*.password',
  '*.ticket',
  '*.secret',
  '*.apiKey',
  '*.refreshToken',
  '*.accessToken',
  '*.text',
  '*.data',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-switchboard-key"]',
];

/**
 * The node's logger: JSON lines (one object per line, for a log shipper) or, for a
 * terminal, one readable line per entry. Either way secrets and bodies are redacted.
 *
 * @example
 *   const logger = createLogger({ level: 'info', format: process.stdout.isTTY ? 'pretty' : 'json' });
 */
export function createLogger(options: { level: string; format: LogFormat; destination?: NodeJS.WritableStream }): PinoLogger {
  const settings: LoggerOptions = {
    level: options.level,
    base: { service: 'switchboard', pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (options.format === 'pretty') return pino(settings, prettyStream(options.destination ?? process.stdout));
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

/** `12:00:01.123 INFO  switchboard listening url=http://... transports=["ws"]`, one line per entry. */
export function formatPretty(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now()).toISOString().slice(11, 23);
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [time, LEVELS[entry.level as number] ?? String(entry.level), String(entry.msg ?? ''), ...fields].join(' ');
}

function prettyStream(out: NodeJS.WritableStream): Writable {
  let rest = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line) out.write(`${formatPretty(line)}\n`);
      done();
    },
  });
}
