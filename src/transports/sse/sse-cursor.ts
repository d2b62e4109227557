import { CHANNEL_ID_PATTERN } from '../../core/names.js';
import type { ChannelId, Seq } from '../../core/types.js';

/**
 * The SSE event id: where the stream stands in every channel it carries, so one
 * `Last-Event-ID` resumes a multi-channel stream. Written as a query string of
 * channel=`<epoch>.<seq>` pairs (`general=1.12&dm%3Aann%2Cbob=2.3`): channel ids may hold
 * `:` and `,`, and URL encoding keeps the pairs unambiguous and the id free of newlines.
 * The epoch (the channel's generation) makes a position in a deleted channel's log
 * unmistakable for one in the log of a channel created again under its id.
 */
export type Cursor = ReadonlyMap<ChannelId, Seq>;

/** A read `Last-Event-ID`: the seq per channel, and the epoch where the id named one. */
export interface ParsedCursor {
  readonly positions: Map<ChannelId, Seq>;
  readonly epochs: Map<ChannelId, number>;
}

export function formatCursor(cursor: Cursor, epochs: ReadonlyMap<ChannelId, number> = new Map()): string {
  const params = new URLSearchParams();
  for (const [channel, seq] of cursor) {
    const epoch = epochs.get(channel);
    params.append(channel, epoch === undefined ? String(seq) : `${epoch}.${seq}`);
  }
  return params.toString();
}

/** `<seq>` or `<epoch>.<seq>`. */
const POSITION = /^(?:(\d{1,15})\.)?(\d{1,15})$/;

/**
 * Reads a `Last-Event-ID`. A bare position (`41` or `2.41`) is that of the only channel
 * of a one-channel stream; a pair's value may be a bare seq too (ids written before
 * epochs). Anything malformed yields null: the caller refuses it rather than silently
 * starting over and skipping events.
 */
export function parseCursor(value: string, channels: readonly ChannelId[]): ParsedCursor | null {
  const parsed: ParsedCursor = { positions: new Map(), epochs: new Map() };
  const read = (channel: ChannelId, position: string): boolean => {
    const match = POSITION.exec(position);
    if (!match) return false;
    parsed.positions.set(channel, Number(match[2]));
    if (match[1] !== undefined) {
      const epoch = Number(match[1]);
      if (epoch < 1) return false;
      parsed.epochs.set(channel, epoch);
    }
    return true;
  };
  if (POSITION.test(value)) {
    if (channels.length !== 1) return null;
    return read(channels[0]!, value) ? parsed : null;
  }
  for (const [channel, position] of new URLSearchParams(value)) {
    if (!CHANNEL_ID_PATTERN.test(channel) || !read(channel, position)) return null;
  }
  return parsed;
}
