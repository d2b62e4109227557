/**
 * A name a client gave a file, made safe to store, show and send back in a
 * Content-Disposition header: the last path segment only, no control, bidirectional or
 * invisible characters (an RTL override turns `gpj.exe` into what reads as `exe.jpg`), none
 * of the characters Windows refuses, no leading dots, at most 200 characters with the
 * extension kept. Never empty.
 *
 * @example
 *   sanitizeFileName('../../etc/passwd')        // 'passwd'
 *   sanitizeFileName('invoice\u202Egpj.exe')    // 'invoicegpj.exe'
 */
export function sanitizeFileName(raw: string): string {
  const lastSegment = raw.normalize('NFC').split(/[/\\]/).pop() ?? '';
  let name = lastSegment
    .replace(/[\t\n\v\f\r]/g, ' ')
    .replace(UNSAFE, '')
    .replace(WINDOWS_RESERVED_CHARACTERS, '_')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  if (WINDOWS_RESERVED_NAMES.test(name)) name = `_${name}`;
  name = truncate(name, MAX_NAME_LENGTH);
  return name === '' ? 'file' : name;
}

/**
 * The Content-Disposition header for a download: `inline` or `attachment`, with an ASCII
 * fallback name and the exact name in RFC 5987 form.
 */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(name)}`;
}

const MAX_NAME_LENGTH = 200;

/**
 * C0 and C1 controls and DEL, the bidirectional marks, embeddings, overrides and isolates,
 * zero-width characters and the BOM, line and paragraph separators.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;
const WINDOWS_RESERVED_CHARACTERS = /[<>:"|?*]/g;
const WINDOWS_RESERVED_NAMES = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i;

/** Cuts the stem, not the extension, and never inside a surrogate pair. */
function truncate(name: string, max: number): string {
  const chars = Array.from(name);
  if (chars.length <= max) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= 16 ? Array.from(name.slice(dot)) : [];
  return chars.slice(0, max - extension.length).join('').replace(/[\s.]+$/, '') + extension.join('');
}

function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
