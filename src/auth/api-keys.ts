import type { Principal } from '../core/types.js';
import { constantTimeEquals } from './secrets.js';

/** What an API key holder is: the app's backend, which passes every channel rule. */
export const SERVER_PRINCIPAL: Principal = Object.freeze({
  kind: 'server',
  userId: 'server',
  name: 'server',
  roles: Object.freeze([]) as readonly string[],
});

/**
 * The configured server API keys. Several may be valid at once so a key can be rotated:
 * add the new one, move the backends over, remove the old one.
 */
export class ApiKeys {
  readonly #keys: readonly string[];

  constructor(keys: readonly string[]) {
    this.#keys = [...keys];
  }

  get configured(): boolean {
    return this.#keys.length > 0;
  }

  /** Compares against every key, in constant time, without stopping at the first match. */
  matches(candidate: string): boolean {
    let found = false;
    for (const key of this.#keys) found = constantTimeEquals(candidate, key) || found;
    return found;
  }
}
