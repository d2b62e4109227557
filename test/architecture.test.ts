import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The import direction the design keeps (docs/architecture.md): clients use only the
 * protocol, the protocol imports nothing of the server, and the core imports no wire,
 * driver or feature module. Read from the source text, so a violation fails here before
 * it can grow roots.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Import {
  readonly file: string;
  readonly specifier: string;
  /** `import type` / `export type`: erased at run time. */
  readonly typeOnly: boolean;
  /** The file a relative specifier points at (from the repository root); null for packages. */
  readonly target: string | null;
}

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|tsx)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: Import[] = [];
  const add = (specifier: string, typeOnly: boolean) => {
    const target = specifier.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), specifier)) : null;
    found.push({ file, specifier, typeOnly, target });
  };
  for (const match of text.matchAll(IMPORT)) add(match[2]!, match[1] !== undefined);
  for (const match of text.matchAll(DYNAMIC)) add(match[1]!, false);
  return found;
}

function importsUnder(dir: string): Import[] {
  return sourceFiles(dir).flatMap(importsOf);
}

const describeImport = (i: Import) => `${i.file} imports ${i.specifier}`;

describe('import direction', () => {
  it('finds the imports it checks (the scanner works)', () => {
    const core = importsUnder('src/core');
    expect(core.length).toBeGreaterThan(20);
    expect(importsUnder('client/src').some((i) => i.target?.startsWith('protocol/'))).toBe(true);
  });

  it('keeps client/ and web/ off the server: they import the protocol, never src/', () => {
    const offenders = [...importsUnder('client/src'), ...importsUnder('web/src')].filter((i) => i.target?.startsWith('src/'));
    expect(offenders.map(describeImport)).toEqual([]);
  });

  it('keeps zod out of the browser: client/ and web/ load only the plain protocol files at run time', () => {
    // A protocol file is plain when it imports no zod and, at run time, only plain protocol
    // files (compact-event.ts reads event-id.ts): found by growing the set until it holds.
    const files = sourceFiles('protocol');
    const zodFree = new Set<string>();
    for (let grew = true; grew; ) {
      grew = false;
      for (const file of files) {
        const name = file.replace(/\.ts$/, '');
        if (zodFree.has(name)) continue;
        const plain = importsOf(file).every(
          (i) => i.specifier !== 'zod' && (i.typeOnly || i.target === null || zodFree.has(i.target.replace(/\.js$/, ''))),
        );
        if (plain) zodFree.add(name), (grew = true);
      }
    }
    expect(zodFree).toContain('protocol/compact-event');
    expect(zodFree).not.toContain('protocol/frames');
    const offenders = [...importsUnder('client/src'), ...importsUnder('web/src')].filter(
      (i) => !i.typeOnly && i.target?.startsWith('protocol/') && !zodFree.has(i.target.replace(/\.js$/, '')),
    );
    expect(offenders.map(describeImport)).toEqual([]);
  });

  it('keeps the protocol a leaf: it imports only itself and zod', () => {
    const offenders = importsUnder('protocol').filter(
      (i) => (i.target !== null && !i.target.startsWith('protocol/')) || (i.target === null && i.specifier !== 'zod'),
    );
    expect(offenders.map(describeImport)).toEqual([]);
  });

  it('keeps the core free of wires, drivers, features and the composition root', () => {
    const outward = /^src\/(transports|store|broker|chat|auth|ops|webhooks|edge)\/|^src\/(server|config|cli)\.js$/;
    const drivers = /^(ws|fastify|@fastify\/.*|kysely|pg|ioredis|better-sqlite3|@grpc\/.*|pino|prom-client|node:http|node:https|node:net)$/;
    const offenders = importsUnder('src/core').filter(
      (i) => (i.target !== null && outward.test(i.target)) || (i.target === null && drivers.test(i.specifier)),
    );
    expect(offenders.map(describeImport)).toEqual([]);
  });
});
