import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, ERROR_CODES, GRPC_STATUS_NAMES } from '../protocol/codes.js';
import { errorCodeTable, parityTable, section, writeSection } from './helpers/protocol-tables.js';

/**
 * docs/protocol.md shows tables derived from the protocol module: the commands on every
 * wire, and the error codes with their HTTP, close and gRPC renderings. They cannot
 * drift: this test renders them and compares.
 */
const PROTOCOL_MD = new URL('../docs/protocol.md', import.meta.url);
const update = process.env.UPDATE_DOCS === '1';

describe('docs/protocol.md', () => {
  for (const [name, render] of [
    ['parity-table', parityTable],
    ['error-codes', errorCodeTable],
  ] as const) {
    it(`shows the ${name} derived from the protocol`, () => {
      if (update) writeSection(PROTOCOL_MD, name, render());
      const doc = readFileSync(PROTOCOL_MD, 'utf8');
      expect(section(doc, name), `run UPDATE_DOCS=1 npx vitest run test/protocol-docs.test.ts`).toBe(render());
    });
  }

  it('documents every error code with its HTTP status, close code and gRPC status', () => {
    const doc = readFileSync(PROTOCOL_MD, 'utf8');
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      expect(row, code).toBeDefined();
      expect(row).toContain(`| ${entry.http} |`);
      expect(row).toContain(`| ${entry.close} |`);
      expect(row).toContain(GRPC_STATUS_NAMES[entry.grpc]!);
    }
  });

  it('documents every close code', () => {
    const doc = readFileSync(PROTOCOL_MD, 'utf8');
    for (const code of Object.values(CLOSE_CODES)) expect(doc, String(code)).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });
});
