import { SwitchboardError } from '../core/errors.js';
import type { Hub } from '../core/hub.js';
import type { HubObserver } from '../core/hub-observer.js';
import type { Logger } from '../core/logger.js';
import type { Session } from '../core/session.js';
import type { Principal } from '../core/types.js';
import type { BackendClient } from './backend-client.js';

/** How soon a refresh the backend could not answer is asked again (the session's expiry still ends it). */
const RETRY_MS = 1000;

/**
 * The refresh hook: a session whose expiry came from the connect hook is offered to the
 * backend `refreshBeforeMs` before it ends. A new `expiresAt` moves the end; a refusal ends
 * the session at once with the backend's error (frame, then the close code of its code);
 * no answer is asked again until the expiry ends the session (`unauthorized`, 4401).
 */
export class RefreshScheduler implements HubObserver {
  readonly #hub: Hub;
  readonly #backend: BackendClient;
  readonly #beforeMs: number;
  readonly #logger: Logger;
  /** Principals the connect hook made: only their sessions are the backend's to extend. */
  readonly #granted = new WeakSet<Principal>();
  readonly #timers = new Map<Session['id'], NodeJS.Timeout>();

  constructor(options: { hub: Hub; backend: BackendClient; refreshBeforeMs: number; logger: Logger }) {
    this.#hub = options.hub;
    this.#backend = options.backend;
    this.#beforeMs = options.refreshBeforeMs;
    this.#logger = options.logger;
  }

  /** Marks a principal the connect hook made. */
  granted(principal: Principal): Principal {
    this.#granted.add(principal);
    return principal;
  }

  sessionOpened(session: Session): void {
    if (this.#granted.has(session.principal)) this.#schedule(session);
  }

  sessionClosed(session: Session): void {
    clearTimeout(this.#timers.get(session.id));
    this.#timers.delete(session.id);
  }

  #schedule(session: Session, delayMs?: number): void {
    const { expiresAt } = session.principal;
    if (expiresAt === undefined) return;
    const delay = delayMs ?? Math.max(0, expiresAt - this.#beforeMs - Date.now());
    this.#timers.set(session.id, setTimeout(() => void this.#refresh(session), delay).unref());
  }

  async #refresh(session: Session): Promise<void> {
    this.#timers.delete(session.id);
    const principal = session.principal;
    try {
      const result = await this.#backend.call('refresh', {
        transport: session.transport,
        user: principal.userId,
        session: session.id,
        info: principal.info ?? null,
      });
      if (!this.#timers.has(session.id) && isClosed(this.#hub, session)) return;
      const renewed = { ...principal, expiresAt: result.expiresAt, ...(result.info !== undefined && { info: result.info }) };
      this.#hub.refresh(session, renewed);
      this.#schedule(session);
    } catch (error) {
      if (isClosed(this.#hub, session)) return;
      if (error instanceof SwitchboardError && error.code !== 'unavailable') {
        this.#hub.endSession(session, error);
        return;
      }
      this.#logger.warn({ err: error, session: session.id }, 'refresh hook failed; asking again');
      this.#schedule(session, RETRY_MS);
    }
  }
}

function isClosed(hub: Hub, session: Session): boolean {
  for (const open of hub.sessionsOf(session.principal.userId)) if (open.id === session.id) return false;
  return true;
}
