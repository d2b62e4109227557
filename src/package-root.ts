import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding Switchboard's package.json, found by walking up from this module,
 * so files beside the package (proto/, dist/web/) are found from src/ (tests, tsx) and from
 * dist/src/ (npm start) alike.
 */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

let version: string | undefined;

/**
 * The package's version, for /openapi.json, `switchboard --version` and the node report.
 * Read once: the report asks every second.
 */
export function packageVersion(): string {
  version ??= readVersion();
  return version;
}

function readVersion(): string {
  try {
    const text = readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}
