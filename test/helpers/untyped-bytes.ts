import { randomBytes } from 'node:crypto';

/**
 * Random bytes of no type the server's sniffer knows. Random from the first byte, about
 * one buffer in 2,000 matches a signature (11 of 20,000 of 5,000 bytes; a full run stored
 * one as audio/mpeg, an MPEG frame sync); with a text start, none of 20,000 did.
 */
export function untypedBytes(size: number) {
  const bytes = randomBytes(size);
  bytes.write('switchboard test bytes\n', 'ascii');
  return bytes;
}
