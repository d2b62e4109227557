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
 * large as JSON text (UTF-8 bytes, exactly), a number JSON cannot write, a string with NUL
 * or an unpaired surrogate. Walks the value without recursion, so a hostile depth costs
 * the sender nothing but a refusal; a running lower bound of the size stops the walk of
 * a value that is too large early, and the exact size is measured once the rest holds.
 */
export function dataProblem(value: unknown, limits: DataLimits = DEFAULT_LIMITS): string | null {
  const tooLarge = `is larger than ${limits.maxDataBytes} bytes`;
  const stack: [unknown, number][] = [[value, 0]];
  let atLeast = 0;
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    switch (typeof current) {
      case 'string': {
        const problem = stringProblem(current);
        if (problem) return problem;
        atLeast += current.length + 2;
        break;
      }
      case 'number':
        if (!Number.isFinite(current)) return 'numbers must be finite (JSON has no NaN or Infinity)';
        atLeast += 1;
        break;
      case 'boolean':
        atLeast += 4;
        break;
      case 'object': {
        if (current === null) {
          atLeast += 4;
          break;
        }
        if (depth >= limits.maxDataDepth) return `nests deeper than ${limits.maxDataDepth} levels`;
        atLeast += 2;
        if (Array.isArray(current)) {
          atLeast += Math.max(0, current.length - 1);
          for (const item of current) stack.push([item, depth + 1]);
        } else {
          for (const [key, item] of Object.entries(current)) {
            const problem = stringProblem(key);
            if (problem) return `a key ${problem.replace(/^a string /, '')}`;
            atLeast += key.length + 4;
            stack.push([item, depth + 1]);
          }
        }
        break;
      }
      default:
        return 'holds a value JSON cannot carry';
    }
    if (atLeast > limits.maxDataBytes) return tooLarge;
  }
  // The depth is bounded now, so serialising cannot exhaust the stack.
  return utf8Length(JSON.stringify(value) ?? 'null', limits.maxDataBytes) > limits.maxDataBytes ? tooLarge : null;
}

/** UTF-8 bytes of `text`, counted up to just past `cap` (no copy is made). */
function utf8Length(text: string, cap: number): number {
  if (text.length > cap) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= cap; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** NUL (PostgreSQL text cannot hold it) or a lone surrogate (not UTF-8, so not protobuf). */
export function stringProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'a string contains the NUL character';
  if (LONE_SURROGATE.test(text)) return 'a string contains an unpaired surrogate';
  return null;
}
