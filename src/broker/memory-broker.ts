import { randomUUID } from 'node:crypto';
import type { Broker, BrokerMessage, PresenceRegistry } from '../core/broker.js';
import type { NodeId } from '../core/types.js';
import { MemoryBus } from './memory-bus.js';

/** The in-process broker: a single node by default, or one node of a MemoryBus cluster. */
export class MemoryBroker implements Broker {
  readonly nodeId: NodeId;
  readonly presence: PresenceRegistry;
  readonly #bus: MemoryBus;

  constructor(bus: MemoryBus = new MemoryBus(), nodeId: NodeId = randomUUID()) {
    this.#bus = bus;
    this.nodeId = nodeId;
    this.presence = bus.presence;
  }

  async start(onMessage: (message: BrokerMessage) => void): Promise<void> {
    this.#bus.attach(this.nodeId, onMessage);
  }

  publish(message: BrokerMessage): void {
    this.#bus.send(this.nodeId, message);
  }

  watch(): void {}

  unwatch(): void {}

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#bus.detach(this.nodeId);
  }
}
