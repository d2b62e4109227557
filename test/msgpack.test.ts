import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeMsgpack, encodeMsgpack, MAX_DEPTH, MsgpackError } from '../protocol/msgpack.js';

/**
 * The protocol's MessagePack codec, fed values and raw bytes: every integer width at its
 * edges, floats, strings and binaries at each header size, nesting, and input that must be
 * refused with a MsgpackError (never another error, never a hang). An independent
 * implementation (notepack.io, installed with @socket.io/redis-adapter) reads what we
 * write and writes what we read.
 */

const require = createRequire(import.meta.url);
const notepack = require('notepack.io') as { encode(value: unknown): Buffer; decode(bytes: Buffer): unknown };

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => Uint8Array.from(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const roundTrip = (value: unknown) => decodeMsgpack(encodeMsgpack(value));

function refusal(input: Uint8Array): MsgpackError {
  try {
    decodeMsgpack(input);
  } catch (error) {
    expect(error).toBeInstanceOf(MsgpackError);
    return error as MsgpackError;
  }
  throw new Error(`decoded ${hex(input)} instead of refusing it`);
}

describe('integers', () => {
  // [value, the smallest encoding the spec allows]
  const cases: [number, string][] = [
    [0, '00'],
    [127, '7f'],
    [128, 'cc80'],
    [255, 'ccff'],
    [256, 'cd0100'],
    [65535, 'cdffff'],
    [65536, 'ce00010000'],
    [4294967295, 'ceffffffff'],
    [4294967296, 'cf0000000100000000'],
    [Number.MAX_SAFE_INTEGER, 'cf001fffffffffffff'],
    [-1, 'ff'],
    [-32, 'e0'],
    [-33, 'd0df'],
    [-128, 'd080'],
    [-129, 'd1ff7f'],
    [-32768, 'd18000'],
    [-32769, 'd2ffff7fff'],
    [-2147483648, 'd280000000'],
    [-2147483649, 'd3ffffffff7fffffff'],
    [Number.MIN_SAFE_INTEGER, 'd3ffe0000000000001'],
  ];

  it.each(cases)('%d is written as %s and read back', (value, encoded) => {
    expect(hex(encodeMsgpack(value))).toBe(encoded);
    expect(decodeMsgpack(bytes(encoded))).toBe(value);
    expect(notepack.decode(Buffer.from(bytes(encoded)))).toBe(value);
  });

  it('reads every width another encoder may choose, signed or not, even when not the smallest', () => {
    expect(decodeMsgpack(bytes('cc05'))).toBe(5);
    expect(decodeMsgpack(bytes('cd0005'))).toBe(5);
    expect(decodeMsgpack(bytes('ce00000005'))).toBe(5);
    expect(decodeMsgpack(bytes('cf0000000000000005'))).toBe(5);
    expect(decodeMsgpack(bytes('d005'))).toBe(5);
    expect(decodeMsgpack(bytes('d1fffb'))).toBe(-5);
    expect(decodeMsgpack(bytes('d2fffffffb'))).toBe(-5);
    expect(decodeMsgpack(bytes('d3fffffffffffffffb'))).toBe(-5);
  });

  it('reads a 64-bit integer beyond 2^53 as the nearest number, as JSON does', () => {
    expect(decodeMsgpack(bytes('cfffffffffffffffff'))).toBe(2 ** 64);
  });
});

describe('floats', () => {
  it('writes non-integers as float 64 and reads float 32 and 64', () => {
    expect(hex(encodeMsgpack(1.5))).toBe('cb3ff8000000000000');
    expect(roundTrip(0.1)).toBe(0.1);
    expect(roundTrip(-1e-300)).toBe(-1e-300);
    expect(roundTrip(2 ** 60)).toBe(2 ** 60);
    expect(roundTrip(Number.NaN)).toBeNaN();
    expect(roundTrip(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(decodeMsgpack(bytes('ca3fc00000'))).toBe(1.5);
    // -0 is an integer to Number.isSafeInteger: it comes back as 0, as through JSON.
    expect(Object.is(roundTrip(-0), 0)).toBe(true);
  });
});

describe('strings', () => {
  const header = (value: string) => hex(encodeMsgpack(value)).slice(0, 2);

  it.each([
    [0, 'a0'],
    [31, 'bf'],
    [32, 'd9'],
    [255, 'd9'],
    [256, 'da'],
    [65535, 'da'],
    [65536, 'db'],
    [70000, 'db'],
  ])('a string of %d bytes gets header %s and comes back whole', (length, type) => {
    const value = 'x'.repeat(length);
    expect(header(value)).toBe(type);
    expect(roundTrip(value)).toBe(value);
    expect(notepack.decode(Buffer.from(encodeMsgpack(value)))).toBe(value);
  });

  it('counts UTF-8 bytes, not characters: multi-byte text, emoji, short and long', () => {
    for (const value of ['é', '日本語', '👍', 'a👍b', 'ü'.repeat(16), '👍'.repeat(100), 'Grüße, 世界 🌍'.repeat(500)]) {
      const encoded = encodeMsgpack(value);
      expect(roundTrip(value)).toBe(value);
      expect(Buffer.from(encoded).equals(notepack.encode(value))).toBe(true);
    }
    // 11 two-byte characters: 22 bytes, still a fixstr.
    expect(header('é'.repeat(11))).toBe('b6');
    // 16 three-byte characters: 48 bytes, a str 8.
    expect(header('日'.repeat(16))).toBe('d9');
  });

  it('writes the same bytes as TextEncoder for any text, by hand or not (200 bytes and under are by hand)', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ['a', 'Z', '0', ' ', '"', 'é', 'ß', '€', '日', '👍', '🌍', '\u0000', '\u007f', '\u0080', '\u07ff', '\u0800', '\uffff'];
    for (let round = 0; round < 500; round++) {
      const value = Array.from({ length: random(150) }, () => alphabet[random(alphabet.length)]).join('');
      const encoded = encodeMsgpack(value);
      expect(Buffer.from(encoded).equals(notepack.encode(value)), JSON.stringify(value)).toBe(true);
      expect(decodeMsgpack(encoded)).toBe(value);
    }
  });

  it('writes a lone surrogate as U+FFFD, as TextEncoder does', () => {
    for (const value of ['\ud800', 'a\udc00b', 'x\ud83d', '\ud83d'.repeat(80)]) {
      expect(roundTrip(value)).toBe(new TextDecoder().decode(new TextEncoder().encode(value)));
    }
  });

  it('refuses invalid UTF-8', () => {
    expect(refusal(bytes('a2c328')).message).toMatch(/not valid UTF-8/);
  });
});

describe('binary', () => {
  it.each([
    [0, 'c4'],
    [255, 'c4'],
    [256, 'c5'],
    [65535, 'c5'],
    [65536, 'c6'],
  ])('%d bytes of binary get header %s and come back as a Uint8Array', (length, type) => {
    const value = Uint8Array.from({ length }, (_, i) => i % 251);
    const encoded = encodeMsgpack(value);
    expect(hex(encoded).slice(0, 2)).toBe(type);
    const decoded = decodeMsgpack(encoded);
    expect(decoded).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(decoded as Uint8Array).equals(Buffer.from(value))).toBe(true);
  });

  it('refuses binary when asked to (the server reads client frames so), naming where', () => {
    const frame = encodeMsgpack({ type: 'publish', id: 1, data: new Uint8Array([1, 2]) });
    expect(() => decodeMsgpack(frame, { binary: false })).toThrow(MsgpackError);
    expect(() => decodeMsgpack(frame, { binary: false })).toThrow(/Binary values are not accepted \(byte 23\)/);
    expect(decodeMsgpack(encodeMsgpack({ text: 'no binary here' }), { binary: false })).toEqual({ text: 'no binary here' });
  });

  it('copies binary out of the input, so reusing the input buffer does not change it', () => {
    const input = bytes('c403010203');
    const decoded = decodeMsgpack(input) as Uint8Array;
    input.fill(0);
    expect([...decoded]).toEqual([1, 2, 3]);
  });
});

describe('maps and arrays', () => {
  it('round-trips nested values as JSON would, and agrees with another implementation', () => {
    const value = {
      type: 'event',
      channel: 'general',
      seq: 42,
      text: 'hello',
      data: { order: 7, items: [1, -2, 3.5, 'four', null, true, false, [], {}], nested: { deeper: { deepest: [[[1]]] } } },
      createdAt: 1795540000000,
    };
    expect(roundTrip(value)).toEqual(value);
    expect(notepack.decode(Buffer.from(encodeMsgpack(value)))).toEqual(value);
    expect(decodeMsgpack(notepack.encode(value))).toEqual(value);
  });

  it.each([
    [15, '9f', '8f'],
    [16, 'dc', 'de'],
    [65535, 'dc', 'de'],
    [65536, 'dd', 'df'],
  ])('%d items get array header %s and map header %s', (size, arrayType, mapType) => {
    const array = Array.from({ length: size }, (_, i) => i);
    const map = Object.fromEntries(array.map((i) => [`k${i}`, i]));
    expect(hex(encodeMsgpack(array)).slice(0, 2)).toBe(arrayType);
    expect(hex(encodeMsgpack(map)).slice(0, 2)).toBe(mapType);
    expect(roundTrip(array)).toEqual(array);
    expect(roundTrip(map)).toEqual(map);
  });

  it('writes an object with toJSON (a Date) as what toJSON returns, as JSON.stringify does', () => {
    const value = { at: new Date(1795540000000), custom: { toJSON: () => ({ shown: true }) } };
    expect(roundTrip(value)).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('leaves out undefined properties and writes undefined array items as nil, as JSON.stringify does', () => {
    expect(roundTrip({ a: 1, b: undefined, c: () => 1 })).toEqual({ a: 1 });
    expect(hex(encodeMsgpack({ a: 1, b: undefined }))).toBe('81a16101');
    expect(roundTrip([1, undefined, 3])).toEqual([1, null, 3]);
  });

  it('reads a `__proto__` key as an own property, never as the prototype', () => {
    const decoded = decodeMsgpack(encodeMsgpack(JSON.parse('{"__proto__":{"admin":true}}'))) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect((decoded as { admin?: unknown }).admin).toBeUndefined();
    expect(Object.keys(decoded)).toEqual(['__proto__']);
  });

  it('nests up to MAX_DEPTH and refuses deeper input on both sides', () => {
    const nest = (depth: number) => {
      let value: unknown = 1;
      for (let i = 0; i < depth; i++) value = [value];
      return value;
    };
    expect(roundTrip(nest(MAX_DEPTH))).toEqual(nest(MAX_DEPTH));
    expect(() => encodeMsgpack(nest(MAX_DEPTH + 1))).toThrow(MsgpackError);
    // A million nested array headers: refused at MAX_DEPTH, no stack overflow.
    expect(refusal(new Uint8Array(1_000_000).fill(0x91)).message).toMatch(/deeper than 100/);
  });

  it('hands back bytes of its own: a later encoding does not change an earlier one', () => {
    const first = encodeMsgpack({ text: 'first', n: 1 });
    const copy = hex(first);
    encodeMsgpack({ text: 'x'.repeat(5000), n: 2 });
    expect(hex(first)).toBe(copy);
    expect(decodeMsgpack(first)).toEqual({ text: 'first', n: 1 });
  });

  it('refuses a bigint rather than guessing', () => {
    expect(() => encodeMsgpack({ n: 1n })).toThrow(/bigint/);
  });
});

describe('invalid input', () => {
  it.each([
    ['empty input', '', /Truncated/],
    ['a cut uint 32', 'ce0001', /Truncated/],
    ['a cut float 64', 'cb3ff8', /Truncated/],
    ['a string longer than the input', 'a5616263', /Truncated/],
    ['a str 32 claiming 4 GiB', 'dbffffffff61', /Truncated/],
    ['a bin 32 claiming 4 GiB', 'c6ffffffff', /Truncated/],
    ['an array 32 claiming 4 billion items', 'ddffffffff', /Truncated input: 4294967295 array items claimed at byte 5/],
    ['a map 32 claiming 4 billion entries', 'dfffffffff', /Truncated input: 4294967295 map entries claimed at byte 5/],
    ['a map missing its last value', '82a16101a162', /Truncated/],
    ['the never-used type 0xc1', 'c1', /Unsupported MessagePack type 0xc1 at byte 0/],
    ['an extension (fixext 1)', '81a178d40102', /Unsupported MessagePack type 0xd4 at byte 3/],
    ['an extension (ext 8)', 'c70101ff', /Unsupported MessagePack type 0xc7/],
    ['a timestamp extension', 'd6ff00000000', /Unsupported MessagePack type 0xd6/],
    ['an integer map key', '810102', /map key at byte 1 is not a string/],
    ['a nil map key', '81c002', /not a string/],
    ['two values where one is expected', '0102', /Trailing bytes: one value ends at byte 1 of 2/],
  ])('%s is refused with a clear message', (_name, input, message) => {
    expect(refusal(bytes(input)).message).toMatch(message);
  });

  it('never throws anything but a MsgpackError on random bytes, and never hangs', () => {
    let seed = 20;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    let decoded = 0;
    for (let round = 0; round < 20_000; round++) {
      const input = Uint8Array.from({ length: 1 + (random() % 40) }, () => random() & 0xff);
      try {
        decodeMsgpack(input);
        decoded++;
      } catch (error) {
        expect(error).toBeInstanceOf(MsgpackError);
      }
    }
    // Some random inputs are valid MessagePack (a lone fixint), most are not.
    expect(decoded).toBeGreaterThan(0);
    expect(decoded).toBeLessThan(20_000);
  });

  it('reads an ArrayBuffer (what a browser hands over) as well as a Uint8Array', () => {
    const encoded = encodeMsgpack({ type: 'ok', id: 1 });
    expect(decodeMsgpack(encoded.slice().buffer)).toEqual({ type: 'ok', id: 1 });
  });

  it('reads from a view into a larger buffer (a Node Buffer slice) at its own offset', () => {
    const pool = Buffer.concat([Buffer.from('ffff', 'hex'), Buffer.from(encodeMsgpack({ id: 7, big: 70000 })), Buffer.from('ff', 'hex')]);
    expect(decodeMsgpack(pool.subarray(2, pool.length - 1))).toEqual({ id: 7, big: 70000 });
  });
});
