import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../src/auth/hmac-sha256.js';

describe('HmacSha256', () => {
  it("gives node:crypto's HMAC-SHA256 for keys around a block and messages past the scratch buffer", () => {
    const messages = ['', 'a', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ', 'ünïcödé ✓ 𝄞', 'x'.repeat(7000), 'é'.repeat(3000), 'short again'];
    for (const length of [1, 31, 32, 63, 64, 65, 100, 200]) {
      const secret = randomBytes(length);
      const mac = new HmacSha256(secret);
      for (const message of messages) {
        expect(mac.of(message).toString('hex'), `key ${length}, message ${message.length}`).toBe(createHmac('sha256', secret).update(message).digest('hex'));
      }
    }
  });
});
