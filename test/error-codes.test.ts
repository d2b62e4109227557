import { describe, expect, it } from 'vitest';
import { SwitchboardError } from '../src/core/errors.js';

// That docs/protocol.md lists every code with its renderings: test/protocol-docs.test.ts.
describe('error registry', () => {
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
