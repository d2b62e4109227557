import type { PresenceRegistry, VolatileLog } from '../core/broker.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { NodeId } from '../core/types.js';
import { ClusterBroker } from './cluster-broker.js';
import { MemoryBus } from './memory-bus.js';

export interface MemoryBrokerOptions {
  /** The bus shared with the other nodes of an in-process cluster. Default: a bus of its own (one node). */
  readonly bus?: MemoryBus;
  /** Default: a random UUID. */
  readonly nodeId?: NodeId;
  /** Where publish failures are reported (only a test's `cut` makes them). Default: nowhere. */
  readonly logger?: Logger;
  /** See ClusterBrokerOptions; default 10 s, and never while the node is alone on its bus. */
  readonly resyncMs?: number;
}

/**
 * The in-process broker: the cluster protocol of ClusterBroker (envelopes, re-sends,
 * resyncs) over a MemoryBus. Alone on its bus, the single-node default, it encodes and
 * sends nothing: the bus tells it that nobody else listens.
 *
 * @example
 * new MemoryBroker({ logger }); // one node
 * const bus = new MemoryBus();
 * const [a, b] = [new MemoryBroker(bus, 'a'), new MemoryBroker(bus, 'b')]; // a cluster in one process
 */
export class MemoryBroker extends ClusterBroker {
  readonly presence: PresenceRegistry;
  readonly volatile: VolatileLog;
  readonly #bus: MemoryBus;

  constructor(options?: MemoryBrokerOptions);
  constructor(bus: MemoryBus, nodeId?: NodeId);
  constructor(first: MemoryBus | MemoryBrokerOptions = {}, nodeId?: NodeId) {
    const options: MemoryBrokerOptions = first instanceof MemoryBus ? { bus: first, nodeId } : first;
    super({ logger: options.logger ?? silentLogger, nodeId: options.nodeId, resyncMs: options.resyncMs });
    this.#bus = options.bus ?? new MemoryBus();
    this.presence = this.#bus.presence;
    this.volatile = this.#bus.volatile;
  }

  protected async send(topic: string, payload: string): Promise<void> {
    this.#bus.publish(this.nodeId, topic, payload);
  }

  protected async listen(topic: string, on: boolean): Promise<void> {
    this.#bus.listen(topic, this.nodeId, on);
  }

  protected override othersListen(topic: string): boolean {
    return this.#bus.othersListen(topic, this.nodeId);
  }

  protected async connect(): Promise<void> {
    this.#bus.join(this.nodeId, { receive: (payload) => this.receive(payload), linkUp: () => void this.linkUp() });
  }

  async ping(): Promise<void> {
    if (!this.#bus.isUp(this.nodeId)) throw new Error(`node ${this.nodeId} is not connected to its bus`);
  }

  protected async disconnect(): Promise<void> {
    this.#bus.leave(this.nodeId);
  }
}
