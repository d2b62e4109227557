import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, formatPretty } from '../src/ops/logger.js';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('logs', () => {
  it('writes JSON lines without tokens, passwords or message bodies', async () => {
    const out = capture();
    const logger = createLogger({ level: 'info', format: 'json', destination: out.stream });
    logger.info(
      { token: 'tok-SECRET', ticket: 'tick-SECRET', request: { password: 'pw-SECRET', apiKey: 'key-SECRET' }, event: { seq: 4, text: 'body-SECRET', data: { x: 'data-SECRET' } } },
      'something happened',
    );
    logger.warn({ req: { headers: { authorization: 'Bearer hdr-SECRET', 'x-switchboard-key': 'xkey-SECRET' } } }, 'request');
    const lines = out.text().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(out.text()).not.toContain('SECRET');
    expect(lines[0]).toMatchObject({ msg: 'something happened', service: 'switchboard', event: { seq: 4, text: '[redacted]' } });
  });

  it('has a one-line pretty form for a terminal, redacted too', async () => {
    const out = capture();
    const logger = createLogger({ level: 'info', format: 'pretty', destination: out.stream });
    logger.info({ url: 'http://127.0.0.1:8080', token: 'tok-SECRET' }, 'switchboard listening');
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.text()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  switchboard listening url=http:\/\/127\.0\.0\.1:8080 token=\[redacted\]\n$/);
    expect(formatPretty('not json')).toBe('not json');
    expect(formatPretty('{"level":50,"time":0,"msg":"failed","err":{"message":"boom"}}')).toBe('00:00:00.000 ERROR failed err={"message":"boom"}');
  });
});
