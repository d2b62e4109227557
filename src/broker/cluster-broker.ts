import { randomUUID } from 'node:crypto';
import type { Broker, BrokerMessage, PresenceRegistry, VolatileLog } from '../core/broker.js';
import type { Logger } from '../core/logger.js';
import { FrameIds, presenceChangesOf, presenceFrameOf } from '../core/presence-frames.js';
import type { PresenceChange as PresenceFrameChange } from '../../protocol/frames.js';
import type { ChannelId, NodeId, PresenceAction, SessionId, UserId } from '../core/types.js';

export interface ClusterBrokerOptions {
  readonly logger: Logger;
  readonly nodeId?: NodeId;
  /** Prefix of every topic, so clusters (and test runs) sharing one server stay apart. */
  readonly prefix?: string;
  /**
   * How often the hub is asked to compare every watched channel with the store, the last
   * safety net for an event lost with nothing after it. Default 10 s.
   */
  readonly resyncMs?: number;
}

/**
 * A presence change no hub made: sessions of a node that stopped heartbeating (`leave`,
 * `remove`), or a node's sessions written back after Redis forgot them (`join`, `add`).
 */
export interface PresenceChange {
  readonly channel: ChannelId;
  readonly user: UserId;
  readonly session: SessionId;
  readonly action: PresenceAction;
  /**
   * A removal this node's hub already announced here when Redis could not be written
   * (it answered from its own sessions); only the other nodes still need to hear it.
   */
  readonly retried?: boolean;
}

export interface BrokerStats {
  published: number;
  publishFailures: number;
  received: number;
  /** Payloads from the bus that were not ours to read (another version, corrupt). */
  undecodable: number;
  /**
   * Connections dropped because the bus stopped answering though they looked open (a
   * silent partition); each is reconnected like a reset one. Always 0 in process.
   */
  stalls: number;
}

interface Envelope {
  readonly v: 1;
  readonly node: NodeId;
  readonly message: BrokerMessage;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function departureKey(channel: ChannelId, session: SessionId): string {
  return `${channel}\n${session}`;
}

/** A message as it travels between nodes: wrapped with its sender, so a node drops its own. */
export function encodeEnvelope(node: NodeId, message: BrokerMessage): string {
  return JSON.stringify({ v: 1, node, message } satisfies Envelope);
}

/**
 * The cluster protocol, whatever carries the bytes: one topic per channel, each message
 * wrapped with its sender so a node drops its own, failures counted and never thrown,
 * the newest event a node could not send re-sent when the link is back (so the other
 * nodes see the gap and heal it from the store), and `resync` whenever traffic may have
 * been lost. A subclass moves bytes: `send` and `listen`, and calls `receive` and
 * `linkUp` (socket.io-adapter's ClusterAdapter split). A bus that knows who listens (the
 * in-process one) also answers `othersListen`, so a node alone does no cluster work.
 *
 * @example
 * class NatsBroker extends ClusterBroker {
 *   protected send(topic, payload) { return nc.publish(topic, payload); }
 *   protected listen(topic, on) { ... nc.subscribe(topic, (m) => this.receive(m.string())) ... }
 * }
 */
export abstract class ClusterBroker implements Broker {
  readonly nodeId: NodeId;
  abstract readonly presence: PresenceRegistry;
  abstract readonly volatile: VolatileLog;
  readonly stats: BrokerStats = { published: 0, publishFailures: 0, received: 0, undecodable: 0, stalls: 0 };
  protected readonly logger: Logger;
  readonly #prefix: string;
  readonly #resyncMs: number;
  /** Every node listens here, for messages about no one channel. */
  readonly #clusterTopic: string;
  readonly #watched = new Set<ChannelId>();
  /** The newest event per channel that could not be sent; re-sent when the link is back. */
  readonly #unsent = new Map<ChannelId, BrokerMessage>();
  /**
   * This node's own sessions (`channel\nsession`) that its hub was told left by the
   * registry (reaped while this node was cut off, heard once the link was back); their
   * return is announced here too. Elsewhere its subscribers never saw them go.
   */
  readonly #departedHere = new Set<string>();
  readonly #frameIds = new FrameIds();
  #onMessage: ((message: BrokerMessage) => void) | null = null;
  #resyncTimer: NodeJS.Timeout | null = null;
  #lastFailureLog = 0;

  constructor(options: ClusterBrokerOptions) {
    this.nodeId = options.nodeId ?? randomUUID();
    this.logger = options.logger;
    this.#prefix = options.prefix ?? 'switchboard:';
    this.#resyncMs = options.resyncMs ?? 10_000;
    this.#clusterTopic = `${this.#prefix}cluster`;
  }

  /** Sends one payload to a topic; rejects when it could not be handed to the bus. */
  protected abstract send(topic: string, payload: string): Promise<void>;
  /** Starts (`on`) or stops receiving a topic; payloads come back through `receive`. */
  protected abstract listen(topic: string, on: boolean): Promise<void>;
  /**
   * Whether another node may be listening to `topic`. Only a bus that knows its listeners
   * can say no, and then nothing is encoded or sent. Every node listens to the cluster
   * topic, so nobody else there means this node is alone: no other node can have sent
   * anything it missed, and the resyncs that look for lost traffic are skipped too.
   */
  protected othersListen(_topic: string): boolean {
    return true;
  }

  /** Whether a session is open on this node, in the channel's presence. A registry that keeps its own sessions answers. */
  protected holdsSession(_channel: ChannelId, _session: SessionId): boolean {
    return false;
  }

  /** Opens the connections; called by `start`. */
  protected abstract connect(): Promise<void>;
  abstract ping(): Promise<void>;
  protected abstract disconnect(): Promise<void>;

  async start(onMessage: (message: BrokerMessage) => void): Promise<void> {
    this.#onMessage = onMessage;
    await this.connect();
    await this.listen(this.#clusterTopic, true);
    this.#resyncTimer = setInterval(() => this.#safetyNet(), this.#resyncMs);
    this.#resyncTimer.unref();
  }

  publish(message: BrokerMessage): void {
    // Checked before naming a topic: a single node's publishes cost next to nothing.
    if (this.#alone) return;
    const topic = this.#topicOf(message);
    if (topic !== null) this.#sendTo(topic, message);
  }

  #sendTo(topic: string, message: BrokerMessage): void {
    if (!this.othersListen(topic)) return;
    const payload = encodeEnvelope(this.nodeId, message);
    this.send(topic, payload).then(
      () => {
        this.stats.published++;
      },
      (error: unknown) => {
        this.stats.publishFailures++;
        if (message.type === 'event') this.#unsent.set(message.event.channel, message);
        this.#logFailure(error, topic);
      },
    );
  }

  watch(channel: ChannelId): void {
    if (this.#watched.has(channel)) return;
    this.#watched.add(channel);
    this.listen(this.#topic(channel), true).then(
      // Events published before the subscription took effect were not for us: fetch them.
      () => {
        if (!this.#alone) this.#emit({ type: 'resync', channel });
      },
      (error: unknown) => this.logger.warn({ err: error, channel }, 'broker subscribe failed; retried on reconnect'),
    );
  }

  unwatch(channel: ChannelId): void {
    if (!this.#watched.delete(channel)) return;
    this.listen(this.#topic(channel), false).catch((error: unknown) =>
      this.logger.warn({ err: error, channel }, 'broker unsubscribe failed'),
    );
  }

  async close(): Promise<void> {
    if (this.#resyncTimer) clearInterval(this.#resyncTimer);
    this.#resyncTimer = null;
    await this.disconnect();
    this.#onMessage = null;
    // A broker that starts again (an in-process one) is told anew what to watch.
    this.#watched.clear();
    this.#unsent.clear();
    this.#departedHere.clear();
  }

  /** Called by the subclass for every payload on a topic it listens to. */
  protected receive(payload: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
      if (envelope.v !== 1 || typeof envelope.node !== 'string' || typeof envelope.message?.type !== 'string') {
        throw new Error('not a switchboard envelope');
      }
    } catch {
      this.stats.undecodable++;
      return;
    }
    if (envelope.node === this.nodeId || envelope.message.type === 'resync') return;
    this.stats.received++;
    const { message } = envelope;
    if (message.type === 'ephemeral') {
      for (const change of presenceChangesOf(message.event)) this.#noteDeparture(message.event.channel, change);
    }
    this.#emit(message);
  }

  /**
   * Called by the subclass whenever a connection is (re)established: listen again to every
   * watched topic, re-send what could not be sent, and have the hub check the store for
   * whatever passed while the link was down.
   */
  protected async linkUp(): Promise<void> {
    await Promise.all(
      [null, ...this.#watched].map((channel) =>
        this.listen(channel === null ? this.#clusterTopic : this.#topic(channel), true).catch((error: unknown) =>
          this.logger.warn({ err: error, channel }, 'broker resubscribe failed'),
        ),
      ),
    );
    this.#emit({ type: 'resync', channel: null });
    this.#resendUnsent();
  }

  /**
   * Tells every node about presence changes the registry made on its own (a dead node's
   * sessions leaving, this node's sessions written back after Redis lost them, a write
   * that failed and went through later); they become ordinary presence events. They go
   * to the cluster topic, not the channel's: rare, and some concern every node (a user's
   * `~online` entry, which no node watches as a channel, decides their status).
   *
   * This node's hub hears only what it has not heard: not a `retried` removal (it answered
   * that itself), and the return of one of its own sessions only if it had heard that
   * session leave. So no subscriber anywhere sees a session join twice in a row. Its
   * observers hear every change as `registry-changed`: the node that made a change is the
   * one that acts on it (a user's status), so other nodes never report it a second time.
   */
  protected announcePresence(changes: readonly PresenceChange[]): void {
    const at = Date.now();
    // One frame per channel, as the hub announces a tick's changes: a dead node's
    // thousands of sessions in one channel cost each subscriber one frame.
    const everywhere = new Map<ChannelId, PresenceFrameChange[]>();
    const here = new Map<ChannelId, PresenceFrameChange[]>();
    for (const { channel, user, session, action, retried } of changes) {
      const change = { action, user, session };
      const returning = action === 'join' || action === 'add';
      if (returning ? this.#departedHere.delete(departureKey(channel, session)) : !retried) {
        this.#noteDeparture(channel, change);
        push(here, channel, change);
      }
      push(everywhere, channel, change);
    }
    for (const [channel, all] of everywhere) {
      const event = presenceFrameOf(channel, all, this.#frameIds.next(), at);
      const ours = here.get(channel);
      if (ours) this.#emit({ type: 'ephemeral', event: ours.length === all.length ? event : presenceFrameOf(channel, ours, this.#frameIds.next(), at) });
      this.#emit({ type: 'registry-changed', event });
      this.#sendTo(this.#clusterTopic, { type: 'ephemeral', event });
    }
  }

  /** Remembers that the hub is about to hear one of this node's own sessions leave. */
  #noteDeparture(channel: ChannelId, change: PresenceFrameChange): void {
    if ((change.action === 'leave' || change.action === 'remove') && this.holdsSession(channel, change.session)) {
      this.#departedHere.add(departureKey(channel, change.session));
    }
  }

  #safetyNet(): void {
    this.#resendUnsent();
    // Sessions that closed before they could return: nothing will announce them again.
    for (const key of this.#departedHere) {
      const cut = key.indexOf('\n');
      if (!this.holdsSession(key.slice(0, cut), key.slice(cut + 1))) this.#departedHere.delete(key);
    }
    if (this.#watched.size > 0 && !this.#alone) this.#emit({ type: 'resync', channel: null });
  }

  #resendUnsent(): void {
    const unsent = [...this.#unsent.values()];
    this.#unsent.clear();
    for (const message of unsent) this.publish(message);
  }

  #emit(message: BrokerMessage): void {
    try {
      this.#onMessage?.(message);
    } catch (error) {
      this.logger.error({ err: error, type: message.type }, 'broker message handler threw');
    }
  }

  #topic(channel: ChannelId): string {
    return `${this.#prefix}ch:${channel}`;
  }

  get #alone(): boolean {
    return !this.othersListen(this.#clusterTopic);
  }

  #topicOf(message: BrokerMessage): string | null {
    switch (message.type) {
      case 'event':
      case 'ephemeral':
        return this.#topic(message.event.channel);
      case 'resync':
        return null;
      default:
        // Cluster-wide notices (user status, live lists) and whatever is added later.
        return this.#clusterTopic;
    }
  }

  /** At most one log line a second: an outage fails every publish. */
  #logFailure(error: unknown, topic: string): void {
    const now = Date.now();
    if (now - this.#lastFailureLog < 1000) return;
    this.#lastFailureLog = now;
    this.logger.warn(
      { err: error, topic, failures: this.stats.publishFailures },
      'broker publish failed; stored events reach other nodes when it is back',
    );
  }
}
