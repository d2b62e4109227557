import { CHANNEL_ID_PATTERN } from '../../core/names.js';
import type { ChannelId, Seq } from '../../core/types.js';

/**
 * The SSE event id: where the stream stands in every channel it carries, so one
 * `Last-Event-ID` resumes a multi-channel stream. Written as a query string of
 * channel=seq pairs (`general=12&dm%3Aann%2Cbob=3`): channel ids may hold `:` and `,`,
 * and URL encoding keeps the pairs unambiguous and the id free of newlines.
 */
export type Cursor = ReadonlyMap<ChannelId, Seq>;

export function formatCursor(cursor: Cursor): string {
  const params = new URLSearchParams();
  for (const [channel, seq] of cursor) params.append(channel, String(seq));
  return params.toString();
}

/**
 * Reads a `Last-Event-ID`. A bare number is the seq of the only channel of a
 * `/stream/:channel` stream. Anything malformed yields null: the caller refuses it rather
 * than silently starting over and skipping events.
 */
export function parseCursor(value: string, channels: readonly ChannelId[]): Map<ChannelId, Seq> | null {
  const cursor = new Map<ChannelId, Seq>();
  if (/^\d+$/.test(value)) {
    if (channels.length !== 1) return null;
    cursor.set(channels[0]!, Number(value));
    return cursor;
  }
  for (const [channel, seq] of new URLSearchParams(value)) {
    if (!CHANNEL_ID_PATTERN.test(channel) || !/^\d{1,15}$/.test(seq)) return null;
    cursor.set(channel, Number(seq));
  }
  return cursor;
}
