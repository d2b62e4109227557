import { readFileSync, writeFileSync } from 'node:fs';
import { BINDINGS, isServed } from '../../protocol/bindings.js';
import { CLOSE_CODES, ERROR_CODES, GRPC_STATUS_NAMES } from '../../protocol/codes.js';
import { COMMAND_NAMES, COMMANDS } from '../../protocol/commands.js';

/**
 * Markdown tables derived from the protocol module, kept in docs between markers. A test
 * compares each doc with what is rendered here; `UPDATE_DOCS=1 npx vitest run
 * test/protocol-docs.test.ts` rewrites them after a protocol change.
 */

/** Command x wire: where each command is reachable, and why not where it is not. */
export function parityTable(): string {
  const notes: string[] = [];
  const note = (reason: string) => {
    let index = notes.indexOf(reason);
    if (index < 0) index = notes.push(reason) - 1;
    return `not served (${index + 1})`;
  };
  const rows = COMMAND_NAMES.map((name) => {
    const { rest, grpc } = BINDINGS[name];
    const restCell = isServed(rest) ? `\`${rest.method} ${rest.path}\`` : note(rest.notServed);
    const grpcCell = isServed(grpc) ? `\`${grpc.rpc}\`${grpc.stream ? ' (stream)' : ''}` : note(grpc.notServed);
    const who = { any: 'user or API key', user: 'user', server: 'API key' }[COMMANDS[name].caller];
    return `| \`${name}\` | ✓ | ${restCell} | ${grpcCell} | ${who} |`;
  });
  return [
    '| command | /ws | REST | gRPC | caller |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...notes.map((reason, index) => `(${index + 1}) ${reason}`),
  ].join('\n');
}

/** Every error code with its HTTP status, WebSocket close code and gRPC status. */
export function errorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, entry]) =>
      `| \`${code}\` | ${entry.http} | ${entry.close} | ${GRPC_STATUS_NAMES[entry.grpc]} (${entry.grpc}) | ${entry.meaning} |`,
  );
  return ['| code | HTTP | close | gRPC | meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** Every close code the server sends on /ws, by name. */
export function closeCodeNames(): Record<string, number> {
  return { ...CLOSE_CODES };
}

/** The text between `<!-- NAME -->` and `<!-- /NAME -->` in a doc. */
export function section(doc: string, name: string): string | null {
  const start = doc.indexOf(`<!-- ${name} -->`);
  const end = doc.indexOf(`<!-- /${name} -->`);
  if (start < 0 || end < start) return null;
  return doc.slice(start + `<!-- ${name} -->`.length, end).trim();
}

/** Puts `body` between the markers of `name` in the file (when UPDATE_DOCS=1). */
export function writeSection(path: URL, name: string, body: string): void {
  const doc = readFileSync(path, 'utf8');
  const start = doc.indexOf(`<!-- ${name} -->`);
  const end = doc.indexOf(`<!-- /${name} -->`);
  if (start < 0 || end < start) throw new Error(`${path.pathname} has no <!-- ${name} --> section`);
  writeFileSync(path, `${doc.slice(0, start)}<!-- ${name} -->\n${body}\n${doc.slice(end)}`);
}
