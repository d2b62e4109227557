import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../src/auth/hmac-sha256.js';

describe('HmacSha256', () => {
  it("gives node:crypto's HMAC-SHA256 for keys around a block and messages around its scratch buffer", () => {
    const messages = [
      '',
      'a',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ',
      'ünïcödé ✓ 𝄞',
      // Three bytes a code unit: exactly as much as the scratch buffer holds, and one more.
      '✓'.repeat(2048),
      `${'✓'.repeat(2048)}A`,
      '\ud800'.repeat(2048),
      `${'\udc00'.repeat(2049)}`,
      '𝄞'.repeat(5000),
      'x'.repeat(7000),
    ];
    for (const length of [0, 1, 31, 32, 63, 64, 65, 100, 200]) {
      const secret = randomBytes(length);
      for (const message of messages) {
        // A fresh instance per message: an earlier, longer one must not make room for this one.
        expect(new HmacSha256(secret).of(message).toString('hex'), `key ${length}, message ${message.length}`).toBe(
          createHmac('sha256', secret).update(message).digest('hex'),
        );
      }
      // One instance for all, short after long and long after short.
      const mac = new HmacSha256(secret);
      for (const message of [...messages, ...messages.reverse()]) {
        expect(mac.of(message).toString('hex')).toBe(createHmac('sha256', secret).update(message).digest('hex'));
      }
    }
  });

  it('tells apart messages that differ only past the scratch buffer', () => {
    const mac = new HmacSha256(randomBytes(32));
    expect(mac.of(`${'✓'.repeat(2048)}A`).equals(mac.of(`${'✓'.repeat(2048)}B`))).toBe(false);
  });
});
