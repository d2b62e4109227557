import { type handleServerStreamingCall, type handleUnaryCall, status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { SWITCHBOARD_SERVICE } from './proto-definition.js';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface HealthServiceOptions {
  /** Resolves when the node can serve (database and broker answer, not draining). */
  readonly ready: () => Promise<void>;
  /** How often a Watch re-checks; it sends only changes. */
  readonly watchIntervalMs?: number;
}

/** Services a probe may name: "" is the node as a whole. */
const KNOWN_SERVICES = new Set(['', SWITCHBOARD_SERVICE]);

/**
 * grpc.health.v1.Health, answered from the same readiness check as `/readyz`, so a load
 * balancer stops sending calls to a node that cannot store or is draining.
 */
export class HealthService {
  readonly #options: HealthServiceOptions;
  /** Open Watch calls, each with the function that ends it. */
  readonly #watches = new Set<(notServing: boolean) => void>();

  constructor(options: HealthServiceOptions) {
    this.#options = options;
  }

  implementation(): UntypedServiceImplementation {
    const check: handleUnaryCall<{ service?: string }, { status: ServingStatus }> = (call, callback) => {
      const service = call.request.service ?? '';
      if (!KNOWN_SERVICES.has(service)) {
        callback({ code: status.NOT_FOUND, details: `Unknown service "${service}".` });
        return;
      }
      this.#status().then((serving) => callback(null, { status: serving }));
    };

    const watch: handleServerStreamingCall<{ service?: string }, { status: ServingStatus }> = (call) => {
      const service = call.request.service ?? '';
      let last: ServingStatus | null = null;
      const send = async () => {
        const current = KNOWN_SERVICES.has(service) ? await this.#status() : 'SERVICE_UNKNOWN';
        if (current !== last && !call.cancelled && call.writable) call.write({ status: current });
        last = current;
      };
      const timer = setInterval(() => void send(), this.#options.watchIntervalMs ?? 5000);
      timer.unref();
      const stop = (notServing = false) => {
        if (!this.#watches.delete(stop)) return;
        clearInterval(timer);
        if (notServing && !call.cancelled && call.writable) {
          call.write({ status: 'NOT_SERVING' });
          call.end();
        }
      };
      this.#watches.add(stop);
      call.on('cancelled', () => stop());
      call.on('close', () => stop());
      void send();
    };

    return { Check: check, Watch: watch };
  }

  /** Ends every Watch with NOT_SERVING: the node is going away. */
  closeAll(): void {
    for (const stop of [...this.#watches]) stop(true);
  }

  async #status(): Promise<'SERVING' | 'NOT_SERVING'> {
    try {
      await this.#options.ready();
      return 'SERVING';
    } catch {
      // /readyz logs nothing either: a probe asks every few seconds.
      return 'NOT_SERVING';
    }
  }
}
