import { randomUUID } from 'node:crypto';
import type { HubObserver } from '../core/hub-observer.js';
import type { Logger } from '../core/logger.js';
import type { NodeReport } from './node-report.js';

/** The module name of the operations notices between nodes. */
export const OPS_MODULE = 'ops';

/**
 * A question one node's console asks every node, each answering for its own sessions:
 * who is connected (matching `query`), end a user's sessions, how many sessions are
 * subscribed to a channel.
 */
export type Question =
  | { readonly type: 'users'; readonly query: string; readonly limit: number }
  | { readonly type: 'disconnect'; readonly user: string }
  | { readonly type: 'subscribers'; readonly channel: string };

/** What nodes of one cluster tell each other's operations module (hub.sendNotice). */
export type OpsNotice =
  | { readonly kind: 'report'; readonly report: NodeReport }
  | { readonly kind: 'ask'; readonly id: string; readonly from: string; readonly question: Question }
  | { readonly kind: 'answer'; readonly id: string; readonly to: string; readonly node: string; readonly answer: unknown };

/** One second of the whole cluster's throughput, summed over the nodes that reported in it. */
export interface ThroughputPoint {
  /** The start of the second (epoch milliseconds). */
  readonly at: number;
  readonly published: number;
  readonly delivered: number;
}

/** How much throughput history each node keeps of every node (the console's chart). */
const HISTORY_SECONDS = 60;

/** A node as the console shows it: its newest report, and how long ago that came. */
export interface NodeState {
  readonly report: NodeReport;
  /** `up`: reported within `silentAfterMs`; `silent`: not since (crashed, cut off, stopped). */
  readonly status: 'up' | 'silent';
  readonly self: boolean;
  readonly lastSeenMs: number;
}

export interface Answers<T> {
  readonly answers: readonly { readonly node: string; readonly name: string; readonly answer: T }[];
  /** Nodes that were up but did not answer in time (their part is unknown). */
  readonly missing: readonly string[];
}

export interface ClusterViewOptions {
  readonly node: string;
  /** Sends a notice to the ops module of every other node. */
  readonly send: (notice: OpsNotice) => void;
  /** Answers a question for this node. */
  readonly answer: (question: Question) => Promise<unknown>;
  readonly logger: Logger;
  /** A node not heard from for this long is shown silent (default 3 s: three missed reports). */
  readonly silentAfterMs?: number;
  /** ... and forgotten after this long (default 60 s). */
  readonly forgetAfterMs?: number;
}

/**
 * The cluster as this node knows it, from the reports every node sends each second, and
 * questions put to every node at once. The broker keeps no list of nodes: a node is
 * known by its reports, and a node that stops reporting turns silent, then is forgotten.
 */
export class ClusterView {
  readonly #options: ClusterViewOptions;
  readonly #nodes = new Map<string, { report: NodeReport; receivedAt: number }>();
  /** Per node: its rates by the second they were reported in, oldest first. */
  readonly #history = new Map<string, { second: number; published: number; delivered: number }[]>();
  readonly #asking = new Map<string, { expected: Set<string>; got: Map<string, unknown>; done: () => void }>();

  constructor(options: ClusterViewOptions) {
    this.#options = options;
  }

  get node(): string {
    return this.#options.node;
  }

  /** This node's own report: kept, and sent to the others. */
  publish(report: NodeReport): void {
    this.#keep(report);
    this.#options.send({ kind: 'report', report });
  }

  /**
   * The cluster's messages and deliveries per second over the last full minute, oldest first:
   * each second sums the rates every node reported in it, so a console opened now draws
   * the last minute at once.
   */
  throughput(now = Date.now()): ThroughputPoint[] {
    // The second under way is left out: not every node has reported in it yet.
    const last = Math.floor(now / 1000) - 1;
    const points = Array.from({ length: HISTORY_SECONDS }, (_, i) => ({ at: (last - HISTORY_SECONDS + 1 + i) * 1000, published: 0, delivered: 0 }));
    for (const history of this.#history.values()) {
      for (const entry of history) {
        const point = points[entry.second - (last - HISTORY_SECONDS + 1)];
        if (!point) continue;
        point.published += entry.published;
        point.delivered += entry.delivered;
      }
    }
    return points.map((point) => ({ ...point, published: Math.round(point.published * 10) / 10, delivered: Math.round(point.delivered * 10) / 10 }));
  }

  /** Every known node, this one first, then by name. */
  nodes(now = Date.now()): NodeState[] {
    const silentAfter = this.#options.silentAfterMs ?? 3000;
    const forgetAfter = this.#options.forgetAfterMs ?? 60_000;
    const out: NodeState[] = [];
    for (const [id, { report, receivedAt }] of this.#nodes) {
      const lastSeenMs = now - receivedAt;
      if (lastSeenMs > forgetAfter && id !== this.node) {
        this.#nodes.delete(id);
        this.#history.delete(id);
        continue;
      }
      out.push({ report, status: lastSeenMs > silentAfter ? 'silent' : 'up', self: id === this.node, lastSeenMs });
    }
    return out.sort((a, b) => Number(b.self) - Number(a.self) || a.report.name.localeCompare(b.report.name));
  }

  /**
   * Asks every node that is up (this one included) and resolves with their answers once
   * all have answered, or after `timeoutMs` with those that did.
   */
  async ask<T>(question: Question, timeoutMs = 2000): Promise<Answers<T>> {
    const others = this.nodes().filter((state) => !state.self && state.status === 'up');
    const id = randomUUID();
    const got = new Map<string, unknown>();
    const expected = new Set(others.map((state) => state.report.node));
    const everyone = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#asking.set(id, {
        expected,
        got,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
    if (expected.size === 0) this.#asking.get(id)!.done();
    else this.#options.send({ kind: 'ask', id, from: this.node, question });
    try {
      const own = await this.#options.answer(question);
      await everyone;
      const names = new Map(this.nodes().map((state) => [state.report.node, state.report.name]));
      const answers = [{ node: this.node, name: names.get(this.node) ?? this.node, answer: own as T }];
      for (const [node, answer] of got) answers.push({ node, name: names.get(node) ?? node, answer: answer as T });
      const missing = [...expected].filter((node) => !got.has(node)).map((node) => names.get(node) ?? node);
      return { answers, missing };
    } finally {
      this.#asking.delete(id);
    }
  }

  #keep(report: NodeReport): void {
    this.#nodes.set(report.node, { report, receivedAt: Date.now() });
    const history = this.#history.get(report.node) ?? [];
    const second = Math.floor(report.at / 1000);
    // One entry a second: a report that lands in the same second as the last replaces it.
    if (history.at(-1)?.second === second) history.pop();
    history.push({ second, published: report.publishedPerSecond, delivered: report.deliveredPerSecond });
    if (history.length > HISTORY_SECONDS) history.shift();
    this.#history.set(report.node, history);
  }

  /** The hook that takes other nodes' reports, questions and answers. */
  observer(): HubObserver {
    return {
      notice: (module, body) => {
        if (module === OPS_MODULE && isNotice(body)) this.#receive(body);
      },
    };
  }

  #receive(notice: OpsNotice): void {
    switch (notice.kind) {
      case 'report':
        this.#keep(notice.report);
        return;
      case 'ask':
        this.#options.answer(notice.question).then(
          (answer) => this.#options.send({ kind: 'answer', id: notice.id, to: notice.from, node: this.node, answer }),
          (error: unknown) => this.#options.logger.error({ err: error, question: notice.question.type }, 'ops question failed'),
        );
        return;
      case 'answer': {
        if (notice.to !== this.node) return;
        const asking = this.#asking.get(notice.id);
        if (!asking) return;
        asking.got.set(notice.node, notice.answer);
        if ([...asking.expected].every((node) => asking.got.has(node))) asking.done();
        return;
      }
    }
  }
}

function isNotice(body: unknown): body is OpsNotice {
  if (typeof body !== 'object' || body === null) return false;
  const kind = (body as { kind?: unknown }).kind;
  return kind === 'report' || kind === 'ask' || kind === 'answer';
}
