import type { ServerKind } from './targets.js';

/** One client a worker opens. */
export interface ClientSpec {
  readonly user: string;
  /** The channel (room) it receives; null for a bare connection. */
  readonly channel: string | null;
  /** Decodes and times every delivery instead of counting bytes. */
  readonly probe: boolean;
  /** Also publishes into its channel (chat). */
  readonly publishes?: boolean;
  /** Switchboard: authenticate with this JWT (Authorization header) instead of `?user=`. */
  readonly token?: string;
  /** Switchboard: subscribe with presence events (default: SWITCHBOARD_BENCH_PRESENCE). */
  readonly presence?: boolean;
}

export interface ResumeSpec {
  readonly user: string;
  readonly channel: string;
  readonly since: number;
  /** The channel's last seq: the client must receive exactly since+1 .. last. */
  readonly last: number;
  readonly presence?: boolean;
}

export type PublishRequest = {
  readonly op: 'publish';
  readonly seconds: number;
  readonly payloadBytes: number;
  /** Most publishes in flight per publisher. */
  readonly window: number;
} & (
  | { readonly mode: 'window'; /** Stop after this many publishes (and their acks). */ readonly count?: number }
  | { readonly mode: 'rate'; readonly rate: number }
  | { readonly mode: 'interval'; readonly intervalMs: number }
);

export type WorkerRequest =
  | { readonly op: 'connect'; readonly kind: ServerKind; readonly port: number; readonly clients: ClientSpec[]; readonly concurrency: number }
  | {
      readonly op: 'openPublishers';
      readonly kind: ServerKind;
      readonly port: number;
      readonly channels: string[];
      readonly count: number;
      readonly create: boolean;
      /** Switchboard: the channels' retention mode (`durable` when absent). */
      readonly retention?: BenchRetention;
    }
  | PublishRequest
  | { readonly op: 'stats' }
  | { readonly op: 'resume'; readonly port: number; readonly clients: ResumeSpec[]; readonly concurrency: number }
  | { readonly op: 'closeAll' }
  | { readonly op: 'exit' };

export interface PublishSummary {
  readonly sent: number;
  readonly acked: number;
  /** Acks that arrived before the run's time was up: the rate is this over elapsedMs. */
  readonly ackedInWindow: number;
  readonly refused: number;
  readonly refusals: Record<string, number>;
  /** Publishes with no reply 5 s after the run ended. */
  readonly unanswered: number;
  readonly elapsedMs: number;
  /** CPU seconds the publishing process used during the run. */
  readonly cpuSeconds: number;
  readonly ackLatencies: number[];
}

export interface WorkerStats {
  /** Counters since the worker started; the orchestrator takes differences. */
  readonly deliveries: number;
  readonly bytes: number;
  readonly frames: number;
  readonly open: number;
  readonly clients: number;
  readonly closeCodes: Record<string, number>;
  /** CPU seconds this worker process has used, to show whether the generator saturated. */
  readonly cpuSeconds: number;
  /** Probe latencies (ms) since the previous stats request. */
  readonly latencies: number[];
}

export interface ConnectSummary {
  readonly connected: number;
  readonly failed: number;
  readonly firstError: string | null;
  readonly millis: number;
  /** Each successful connect's time from its start to the server's ready (ms). */
  readonly connectMillis: number[];
}

export interface ResumeSummary {
  readonly caughtUp: number;
  readonly exact: number;
  readonly failed: number;
  readonly firstError: string | null;
  readonly catchUpMillis: number[];
  readonly millis: number;
}

/** What a benchmarked Switchboard channel keeps: stored, a ring of the newest 100 in memory, or nothing. */
export type BenchRetention = 'durable' | 'memory' | 'none';
export const BENCH_RETENTIONS: readonly BenchRetention[] = ['durable', 'memory', 'none'];
