import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** A real PNG of one colour, made by sharp. */
export function solidPng(width: number, height: number, color = { r: 200, g: 40, b: 40 }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
}

/**
 * A decompression bomb: a valid PNG, 1-bit greyscale, all black, of `width` × `height`
 * pixels. It is a few kilobytes per hundred megapixels on disk, and a decoder that takes
 * it at its word needs width × height bytes (or four times that as RGBA) of memory.
 */
export function bombPng(width: number, height: number): Buffer {
  const rowBytes = Math.ceil(width / 8) + 1; // the filter byte, then the bits
  const raw = Buffer.alloc(rowBytes * height); // zeros: filter 0, black pixels
  const idat = deflateSync(raw, { level: 9 });
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(1, 8); // bit depth
  header.writeUInt8(0, 9); // greyscale
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
