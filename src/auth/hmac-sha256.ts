import { hash } from 'node:crypto';

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;

/**
 * HMAC-SHA256 (RFC 2104) of strings under one key, as two one-shot SHA-256 digests over
 * the key's padded blocks, made once. node:crypto's createHmac makes a native object and
 * sets OpenSSL's digest up on every call, which a connect storm of new tokens paid once
 * per token; `hash` keeps its digest and allocates nothing but its result. One scratch
 * buffer serves every call: a synchronous function is never re-entered.
 *
 * @example
 *   const mac = new HmacSha256(secret);
 *   timingSafeEqual(mac.of('header.payload'), signature);
 */
export class HmacSha256 {
  /** The key XOR ipad, then room for a message of up to 2,048 UTF-16 code units. */
  readonly #inner: Buffer;
  /** The key XOR opad, then the inner digest. */
  readonly #outer = Buffer.alloc(BLOCK_BYTES + DIGEST_BYTES);

  constructor(secret: Uint8Array) {
    // A key longer than a block is hashed first; a shorter one is padded with zeros.
    const key = secret.length > BLOCK_BYTES ? hash('sha256', secret, 'buffer') : secret;
    this.#inner = Buffer.alloc(BLOCK_BYTES + 3 * 2048);
    for (let i = 0; i < BLOCK_BYTES; i++) {
      const byte = key[i] ?? 0;
      this.#inner[i] = byte ^ 0x36;
      this.#outer[i] = byte ^ 0x5c;
    }
  }

  /** The MAC of the message's UTF-8 bytes (32 bytes, a new buffer). */
  of(message: string): Buffer {
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a lone surrogate too), so a message
    // that passes this check is written whole. A longer one gets a buffer of its own, once.
    const inner = BLOCK_BYTES + 3 * message.length <= this.#inner.length ? this.#inner : this.#innerFor(message);
    const end = BLOCK_BYTES + inner.write(message, BLOCK_BYTES, 'utf8');
    hash('sha256', inner.subarray(0, end), 'buffer').copy(this.#outer, BLOCK_BYTES);
    return hash('sha256', this.#outer, 'buffer');
  }

  #innerFor(message: string): Buffer {
    const inner = Buffer.alloc(BLOCK_BYTES + Buffer.byteLength(message, 'utf8'));
    this.#inner.copy(inner, 0, 0, BLOCK_BYTES);
    return inner;
  }
}
