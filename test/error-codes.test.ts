import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SwitchboardError } from '../src/core/errors.js';

describe('error registry', () => {
  const protocol = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');

  it('lists every error code in docs/protocol.md', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(protocol, code).toContain(`\`${code}\``);
  });

  it('renders a code without internals', () => {
    const error = new SwitchboardError('forbidden', 'No.');
    expect(error.toJSON()).toEqual({ code: 'forbidden', message: 'No.' });
    expect([error.httpStatus, error.closeCode, error.grpcStatus]).toEqual([403, 4403, 7]);
    expect(error.toHttp()).toEqual({ status: 403, body: { code: 'forbidden', message: 'No.' } });
    expect(new SwitchboardError('too_large', 'Long.', { limit: 5 }).toFrame(7)).toEqual({
      type: 'error',
      id: 7,
      code: 'too_large',
      message: 'Long.',
      details: { limit: 5 },
    });
  });
});
