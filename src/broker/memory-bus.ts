import type { BrokerMessage } from '../core/broker.js';
import type { NodeId } from '../core/types.js';
import { MemoryPresence } from './memory-presence.js';

type Receiver = (message: BrokerMessage) => void;

/**
 * An in-process stand-in for a network between nodes: several MemoryBrokers on one bus
 * behave as a cluster in one process (tests), and `failing` makes publishes vanish.
 */
export class MemoryBus {
  readonly presence = new MemoryPresence();
  /** While true, every publish is dropped, as a broker outage would. */
  failing = false;
  readonly #receivers = new Map<NodeId, Receiver>();

  attach(node: NodeId, receiver: Receiver): void {
    this.#receivers.set(node, receiver);
  }

  detach(node: NodeId): void {
    this.#receivers.delete(node);
  }

  send(from: NodeId, message: BrokerMessage): void {
    if (this.failing) return;
    for (const [node, receive] of this.#receivers) {
      if (node !== from) queueMicrotask(() => receive(message));
    }
  }
}
