import type { BrokerMessage } from '../core/broker.js';
import type { NodeId } from '../core/types.js';
import { encodeEnvelope } from './cluster-broker.js';
import { MemoryPresence } from './memory-presence.js';
import { MemoryVolatileLog } from './memory-volatile-log.js';

/** A node's end of the bus: where its payloads arrive, and what to call when its link is back. */
export interface BusLink {
  receive(payload: string): void;
  linkUp(): void;
}

/**
 * An in-process stand-in for Redis pub/sub: nodes listen to topics, and a payload sent to a
 * topic reaches every node listening to it (its sender too, who drops it), always after
 * `publish` has returned. Several MemoryBrokers on one bus are a cluster in one process; one
 * MemoryBroker alone is the single-node default.
 *
 * Two switches make it fail the ways a network does, for tests:
 * - `failing`: every payload is accepted and lost, with nobody told (a dropped message);
 * - `cut(node)` / `restore(node)`: a node's link goes down (its sends reject, payloads for
 *   it are lost, its ping fails) and comes back (it listens again, resyncs and re-sends).
 *
 * @example
 * const bus = new MemoryBus();
 * const a = new MemoryBroker(bus, 'a');
 * const b = new MemoryBroker(bus, 'b');
 * bus.cut('a'); // a's publishes fail and are kept for re-sending
 * bus.restore('a'); // a re-sends the newest event per channel, b sees the gap and heals it
 */
export class MemoryBus {
  readonly presence = new MemoryPresence();
  readonly volatile = new MemoryVolatileLog();
  /** While true, every payload sent is lost on the way; no node notices. */
  failing = false;
  readonly #links = new Map<NodeId, BusLink>();
  readonly #listeners = new Map<string, Set<NodeId>>();
  readonly #cut = new Set<NodeId>();

  /** Puts a node on the bus; a second node with the same id would drop the first's messages. */
  join(node: NodeId, link: BusLink): void {
    if (this.#links.has(node)) throw new Error(`Node ${node} is already on this bus.`);
    this.#links.set(node, link);
  }

  /** Takes a node off the bus, with everything it listened to. */
  leave(node: NodeId): void {
    if (!this.#links.delete(node)) return;
    for (const [topic, nodes] of this.#listeners) {
      if (nodes.delete(node) && nodes.size === 0) this.#listeners.delete(topic);
    }
  }

  listen(topic: string, node: NodeId, on: boolean): void {
    const nodes = this.#listeners.get(topic);
    if (on) {
      if (nodes) nodes.add(node);
      else this.#listeners.set(topic, new Set([node]));
    } else if (nodes?.delete(node) && nodes.size === 0) {
      this.#listeners.delete(topic);
    }
  }

  /**
   * Whether a node other than `node` listens to `topic`. A sender asks first, so a node with
   * nobody to tell (a single node) neither encodes nor sends.
   */
  othersListen(topic: string, node: NodeId): boolean {
    const nodes = this.#listeners.get(topic);
    return nodes !== undefined && nodes.size > (nodes.has(node) ? 1 : 0);
  }

  /** Hands a payload to every listener of `topic` after the caller's turn; throws if `from` is cut off. */
  publish(from: NodeId, topic: string, payload: string): void {
    if (!this.#links.has(from)) throw new Error(`Node ${from} is not on the bus.`);
    if (this.#cut.has(from)) throw new Error(`The link of node ${from} is down.`);
    const nodes = this.#listeners.get(topic);
    if (!this.failing && nodes) this.#deliver([...nodes], payload);
  }

  /**
   * Delivers `message` to every node on the bus as node `from` would tell the whole
   * cluster, for a test standing in for a node that is not there (one whose sessions a
   * Redis broker reaped, say). `from` need not be on the bus.
   */
  send(from: NodeId, message: BrokerMessage): void {
    if (this.failing) return;
    this.#deliver([...this.#links.keys()].filter((node) => node !== from), encodeEnvelope(from, message));
  }

  /**
   * Delivers `message` to node `to` alone, for a test standing in for that node's own
   * broker: a `registry-changed` it made itself (it reaped another node's sessions, say).
   */
  sendTo(to: NodeId, message: BrokerMessage): void {
    this.#deliver([to], encodeEnvelope('the-test', message));
  }

  #deliver(to: readonly NodeId[], payload: string): void {
    queueMicrotask(() => {
      for (const node of to) {
        if (!this.#cut.has(node)) this.#links.get(node)?.receive(payload);
      }
    });
  }

  /** Whether the node is on the bus with its link up. */
  isUp(node: NodeId): boolean {
    return this.#links.has(node) && !this.#cut.has(node);
  }

  /** Takes the link of `node` down (every node's, without one), as a lost connection would. */
  cut(node?: NodeId): void {
    for (const id of node === undefined ? this.#links.keys() : [node]) this.#cut.add(id);
  }

  /** Brings the link of `node` (of every cut node, without one) back; each such node's link comes up. */
  restore(node?: NodeId): void {
    const restored = node === undefined ? [...this.#cut] : this.#cut.has(node) ? [node] : [];
    for (const id of restored) {
      this.#cut.delete(id);
      this.#links.get(id)?.linkUp();
    }
  }
}
