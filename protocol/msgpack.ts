/**
 * MessagePack (https://github.com/msgpack/msgpack/blob/master/spec.md) for the protocol's
 * frames: the same objects as the JSON encoding, in fewer bytes. The server and the SDK both
 * use this file, so it imports nothing and runs in browsers (TextEncoder, DataView only).
 *
 * The value model is JSON's plus binary: null, booleans, numbers, strings, arrays, objects
 * with string keys, and Uint8Array (MessagePack `bin`). Encoding follows JSON.stringify
 * where the two differ: an `undefined` property is left out, an `undefined` array item is
 * nil, an object with `toJSON` (a Date) is written as what that returns. Decoding refuses anything a frame cannot hold (extension types, non-string map keys,
 * truncated or trailing bytes, nesting deeper than {@link MAX_DEPTH}) with a MsgpackError
 * whose message says what and where, never anything else.
 *
 * @example
 *   const bytes = encodeMsgpack({ type: 'ping', id: 1 });   // 0x82 0xa4 'type' 0xa4 'ping' 0xa2 'id' 0x01
 *   decodeMsgpack(bytes);                                     // -> { type: 'ping', id: 1 }
 */

/** Nesting deeper than this is refused when decoding (the protocol's own limit is far lower). */
export const MAX_DEPTH = 100;

export class MsgpackError extends Error {
  override readonly name = 'MsgpackError';
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

// --- encoding ---------------------------------------------------------------------------

/** Encodes one value. Numbers that are safe integers become integers, other numbers float 64. */
export function encodeMsgpack(value: unknown): Uint8Array {
  // One writer for every call: its buffer only grows, and the result is a copy of what it wrote.
  WRITER.reset();
  WRITER.value(value, 0);
  return WRITER.bytes();
}

class Writer {
  #buffer = new Uint8Array(1024);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;

  reset(): void {
    this.#length = 0;
  }

  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }

  value(value: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw new MsgpackError(`Cannot encode values nested deeper than ${MAX_DEPTH} levels.`);
    switch (typeof value) {
      case 'string':
        return this.#string(value);
      case 'number':
        return Number.isSafeInteger(value) ? this.#integer(value) : this.#float(value);
      case 'boolean':
        return this.#byte(value ? 0xc3 : 0xc2);
      case 'bigint':
        throw new MsgpackError('Cannot encode a bigint: the protocol carries numbers.');
      case 'object':
        if (value === null) return this.#byte(0xc0);
        if (value instanceof Uint8Array) return this.#binary(value);
        if (Array.isArray(value)) return this.#array(value, depth);
        // A Date, or anything else that says how it goes into JSON, goes in the same way.
        const toJSON = (value as { toJSON?: unknown }).toJSON;
        if (typeof toJSON === 'function') return this.value(toJSON.call(value), depth);
        return this.#map(value as Record<string, unknown>, depth);
      default:
        // undefined, functions and symbols: nil, as JSON.stringify writes them in arrays.
        return this.#byte(0xc0);
    }
  }

  #integer(value: number): void {
    if (value >= 0) {
      if (value < 0x80) return this.#byte(value);
      if (value < 0x100) return this.#head(0xcc, 1, value);
      if (value < 0x10000) return this.#head(0xcd, 2, value);
      if (value < 0x1_0000_0000) return this.#head(0xce, 4, value);
      this.#reserve(9);
      this.#buffer[this.#length] = 0xcf;
      this.#view.setBigUint64(this.#length + 1, BigInt(value));
      this.#length += 9;
      return;
    }
    if (value >= -0x20) return this.#byte(value & 0xff);
    if (value >= -0x80) return this.#head(0xd0, 1, value);
    if (value >= -0x8000) return this.#head(0xd1, 2, value);
    if (value >= -0x8000_0000) return this.#head(0xd2, 4, value);
    this.#reserve(9);
    this.#buffer[this.#length] = 0xd3;
    this.#view.setBigInt64(this.#length + 1, BigInt(value));
    this.#length += 9;
  }

  #float(value: number): void {
    this.#reserve(9);
    this.#buffer[this.#length] = 0xcb;
    this.#view.setFloat64(this.#length + 1, value);
    this.#length += 9;
  }

  #string(value: string): void {
    const size = utf8Length(value);
    if (size < 0x20) this.#byte(0xa0 | size);
    else if (size < 0x100) this.#head(0xd9, 1, size);
    else if (size < 0x10000) this.#head(0xda, 2, size);
    else this.#head(0xdb, 4, size);
    this.#reserve(size);
    // Keys, ids and short texts by hand: a call into TextEncoder costs more than it saves.
    if (size > 200) utf8Encoder.encodeInto(value, this.#buffer.subarray(this.#length, this.#length + size));
    else writeUtf8(value, this.#buffer, this.#length);
    this.#length += size;
  }

  #binary(value: Uint8Array): void {
    const size = value.length;
    if (size < 0x100) this.#head(0xc4, 1, size);
    else if (size < 0x10000) this.#head(0xc5, 2, size);
    else this.#head(0xc6, 4, size);
    this.#raw(value);
  }

  #array(items: readonly unknown[], depth: number): void {
    this.#count(0x90, 0xdc, items.length);
    for (const item of items) this.value(item, depth + 1);
  }

  #map(object: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(object);
    let size = 0;
    for (const key of keys) if (isEncodable(object[key])) size++;
    this.#count(0x80, 0xde, size);
    for (const key of keys) {
      const item = object[key];
      if (!isEncodable(item)) continue;
      this.#string(key);
      this.value(item, depth + 1);
    }
  }

  /** A fix-size header (`fix | size` below 16), else the 16- or 32-bit form starting at `wide`. */
  #count(fix: number, wide: number, size: number): void {
    if (size < 16) this.#byte(fix | size);
    else if (size < 0x10000) this.#head(wide, 2, size);
    else this.#head(wide + 1, 4, size);
  }

  /** A type byte followed by a big-endian integer of 1, 2 or 4 bytes. */
  #head(type: number, width: 1 | 2 | 4, value: number): void {
    this.#reserve(1 + width);
    const at = this.#length;
    this.#buffer[at] = type;
    if (width === 1) this.#view.setUint8(at + 1, value & 0xff);
    else if (width === 2) this.#view.setUint16(at + 1, value & 0xffff);
    else this.#view.setUint32(at + 1, value >>> 0);
    this.#length += 1 + width;
  }

  #byte(value: number): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
  }

  #raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
    this.#view = new DataView(grown.buffer);
  }
}

const WRITER = new Writer();

/** UTF-8 bytes of a string; a lone surrogate counts as the 3 bytes of U+FFFD, as TextEncoder writes it. */
function utf8Length(value: string): number {
  let size = value.length;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) size += 1;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size += 2;
      i++;
    } else size += 2;
  }
  return size;
}

/** Writes `value` as UTF-8 at `at` (room for utf8Length(value) bytes is there); lone surrogates become U+FFFD. */
function writeUtf8(value: string, buffer: Uint8Array, at: number): void {
  for (let i = 0; i < value.length; i++) {
    let code = value.charCodeAt(i);
    if (code < 0x80) {
      buffer[at++] = code;
    } else if (code < 0x800) {
      buffer[at++] = 0xc0 | (code >> 6);
      buffer[at++] = 0x80 | (code & 0x3f);
    } else {
      if (code >= 0xd800 && code < 0xe000) {
        const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
        if (code < 0xdc00 && (next & 0xfc00) === 0xdc00) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
          buffer[at++] = 0xf0 | (code >> 18);
          buffer[at++] = 0x80 | ((code >> 12) & 0x3f);
          buffer[at++] = 0x80 | ((code >> 6) & 0x3f);
          buffer[at++] = 0x80 | (code & 0x3f);
          continue;
        }
        code = 0xfffd;
      }
      buffer[at++] = 0xe0 | (code >> 12);
      buffer[at++] = 0x80 | ((code >> 6) & 0x3f);
      buffer[at++] = 0x80 | (code & 0x3f);
    }
  }
}

/** What JSON.stringify keeps as an object property. */
function isEncodable(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

// --- decoding ---------------------------------------------------------------------------

export interface DecodeOptions {
  /**
   * Whether `bin` values are accepted (as Uint8Array). Default true. The server reads client
   * frames with false: a frame's values are JSON's, which has no binary to store.
   */
  readonly binary?: boolean;
}

/**
 * Decodes exactly one value filling all of the input (a browser's ArrayBuffer, a Node Buffer). Throws MsgpackError for anything else:
 * truncated input, trailing bytes, extension types, non-string map keys, invalid UTF-8,
 * nesting deeper than {@link MAX_DEPTH}, binary when `binary` is false.
 */
export function decodeMsgpack(input: Uint8Array | ArrayBuffer, options: DecodeOptions = {}): unknown {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const reader = new Reader(bytes, options.binary ?? true);
  const value = reader.value(0);
  if (reader.offset !== bytes.length) {
    throw new MsgpackError(`Trailing bytes: one value ends at byte ${reader.offset} of ${bytes.length}.`);
  }
  return value;
}

class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #binaryAllowed: boolean;
  offset = 0;

  constructor(bytes: Uint8Array, binaryAllowed: boolean) {
    this.#bytes = bytes;
    this.#binaryAllowed = binaryAllowed;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new MsgpackError(`Values nested deeper than ${MAX_DEPTH} levels are refused.`);
    const at = this.offset;
    const type = this.#uint(1);
    if (type < 0x80) return type;
    if (type >= 0xe0) return type - 0x100;
    if (type < 0x90) return this.#map(type & 0x0f, depth);
    if (type < 0xa0) return this.#array(type & 0x0f, depth);
    if (type < 0xc0) return this.#string(type & 0x1f);
    if (type >= 0xc4 && type <= 0xc6 && !this.#binaryAllowed) {
      throw new MsgpackError(`Binary values are not accepted (byte ${at}): a frame's values are JSON's.`);
    }
    switch (type) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.#binary(this.#uint(1));
      case 0xc5:
        return this.#binary(this.#uint(2));
      case 0xc6:
        return this.#binary(this.#uint(4));
      case 0xca:
        return this.#view.getFloat32(this.#take(4));
      case 0xcb:
        return this.#view.getFloat64(this.#take(8));
      case 0xcc:
        return this.#uint(1);
      case 0xcd:
        return this.#uint(2);
      case 0xce:
        return this.#uint(4);
      case 0xcf:
        // Beyond 2^53 a number loses precision, as in JSON.
        return Number(this.#view.getBigUint64(this.#take(8)));
      case 0xd0:
        return this.#view.getInt8(this.#take(1));
      case 0xd1:
        return this.#view.getInt16(this.#take(2));
      case 0xd2:
        return this.#view.getInt32(this.#take(4));
      case 0xd3:
        return Number(this.#view.getBigInt64(this.#take(8)));
      case 0xd9:
        return this.#string(this.#uint(1));
      case 0xda:
        return this.#string(this.#uint(2));
      case 0xdb:
        return this.#string(this.#uint(4));
      case 0xdc:
        return this.#array(this.#uint(2), depth);
      case 0xdd:
        return this.#array(this.#uint(4), depth);
      case 0xde:
        return this.#map(this.#uint(2), depth);
      case 0xdf:
        return this.#map(this.#uint(4), depth);
      default:
        // 0xc1 (never used) and the extension types 0xc7-0xc9, 0xd4-0xd8.
        throw new MsgpackError(`Unsupported MessagePack type 0x${type.toString(16)} at byte ${at}.`);
    }
  }

  #map(size: number, depth: number): Record<string, unknown> {
    this.#expect(size * 2, `${size} map entries`);
    const object: Record<string, unknown> = {};
    for (let i = 0; i < size; i++) {
      const at = this.offset;
      const key = this.value(depth + 1);
      if (typeof key !== 'string') throw new MsgpackError(`A map key at byte ${at} is not a string.`);
      const item = this.value(depth + 1);
      // An own property, as JSON.parse makes it, never the prototype.
      if (key === '__proto__') Object.defineProperty(object, key, { value: item, enumerable: true, writable: true, configurable: true });
      else object[key] = item;
    }
    return object;
  }

  #array(size: number, depth: number): unknown[] {
    this.#expect(size, `${size} array items`);
    const items = new Array<unknown>(size);
    for (let i = 0; i < size; i++) items[i] = this.value(depth + 1);
    return items;
  }

  #string(size: number): string {
    const start = this.#take(size);
    // Short ASCII (keys, ids, most values) by hand: a call into TextDecoder costs more.
    if (size <= 64) {
      let text = '';
      let i = start;
      const end = start + size;
      for (; i < end; i++) {
        const byte = this.#bytes[i]!;
        if (byte >= 0x80) break;
        text += String.fromCharCode(byte);
      }
      if (i === end) return text;
    }
    try {
      return utf8Decoder.decode(this.#bytes.subarray(start, start + size));
    } catch {
      throw new MsgpackError(`The string at byte ${start} is not valid UTF-8.`);
    }
  }

  #binary(size: number): Uint8Array {
    const start = this.#take(size);
    return this.#bytes.slice(start, start + size);
  }

  #uint(width: 1 | 2 | 4): number {
    const at = this.#take(width);
    if (width === 1) return this.#bytes[at]!;
    return width === 2 ? this.#view.getUint16(at) : this.#view.getUint32(at);
  }

  /** Moves past `size` bytes and returns where they start; refuses to read past the end. */
  #take(size: number): number {
    const at = this.offset;
    if (at + size > this.#bytes.length) {
      throw new MsgpackError(`Truncated input: ${size} bytes needed at byte ${at}, ${this.#bytes.length - at} left.`);
    }
    this.offset = at + size;
    return at;
  }

  /** Each item takes at least a byte: a header claiming more than is left is refused before allocating. */
  #expect(minimumBytes: number, claimed: string): void {
    if (minimumBytes > this.#bytes.length - this.offset) {
      throw new MsgpackError(`Truncated input: ${claimed} claimed at byte ${this.offset}, ${this.#bytes.length - this.offset} bytes left.`);
    }
  }
}
