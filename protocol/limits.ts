/**
 * Input limits every transport enforces before anything is stored, so a payload one
 * transport accepts can be delivered on every other (protobuf refuses nesting beyond 100,
 * JSON has no NaN, PostgreSQL text has no NUL). Defaults; the server's config may lower
 * or raise the sizes. Imports nothing.
 */
export const DEFAULT_LIMITS = {
  /** Longest message text, in characters. */
  maxTextLength: 4000,
  /** Deepest nesting of arrays and objects in a message's `data`. */
  maxDataDepth: 32,
  /** Largest `data`, as JSON text in bytes. */
  maxDataBytes: 32 * 1024,
  /** Subscriptions one connection may hold. */
  maxSubscriptionsPerSession: 100,
  /** Live sessions (/ws connections, SSE streams, gRPC streams) one user may hold on one node. */
  maxSessionsPerUser: 100,
  /** Largest history page. */
  maxHistoryPage: 200,
} as const;

export interface DataLimits {
  readonly maxDataDepth: number;
  readonly maxDataBytes: number;
}

/**
 * Why a JSON value cannot be carried on every wire, or null when it can: too deep, too
 * large, a number JSON cannot write, a string with NUL or an unpaired surrogate. Walks the
 * value without recursion, so a hostile depth costs the sender nothing but a refusal.
 */
export function dataProblem(value: unknown, limits: DataLimits = DEFAULT_LIMITS): string | null {
  const stack: [unknown, number][] = [[value, 0]];
  let bytes = 0;
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    switch (typeof current) {
      case 'string': {
        const problem = stringProblem(current);
        if (problem) return problem;
        bytes += current.length + 2;
        break;
      }
      case 'number':
        if (!Number.isFinite(current)) return 'numbers must be finite (JSON has no NaN or Infinity)';
        bytes += 8;
        break;
      case 'boolean':
        bytes += 5;
        break;
      case 'object': {
        if (current === null) {
          bytes += 4;
          break;
        }
        if (depth >= limits.maxDataDepth) return `nests deeper than ${limits.maxDataDepth} levels`;
        if (Array.isArray(current)) {
          bytes += 2 + current.length;
          for (const item of current) stack.push([item, depth + 1]);
        } else {
          for (const [key, item] of Object.entries(current)) {
            const problem = stringProblem(key);
            if (problem) return `a key ${problem.replace(/^a string /, '')}`;
            bytes += key.length + 4;
            stack.push([item, depth + 1]);
          }
        }
        break;
      }
      default:
        return 'holds a value JSON cannot carry';
    }
    if (bytes > limits.maxDataBytes) return `is larger than ${limits.maxDataBytes} bytes`;
  }
  return null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** NUL (PostgreSQL text cannot hold it) or a lone surrogate (not UTF-8, so not protobuf). */
export function stringProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'a string contains the NUL character';
  if (LONE_SURROGATE.test(text)) return 'a string contains an unpaired surrogate';
  return null;
}
