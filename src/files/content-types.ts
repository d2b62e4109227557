import { fileTypeFromFile } from 'file-type';

/** What bytes are, as far as the server will say: sniffed, never what the client claimed. */
export const UNKNOWN_TYPE = 'application/octet-stream';

/**
 * Images a browser may show in place (`Content-Disposition: inline`, `<img src>`), and the
 * ones sharp makes thumbnails of. Everything else, SVG (scripts) and HTML above all, is
 * served as a download.
 */
const SAFE_IMAGES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);

/** The media type of a stored file, from its first bytes (file-type's signatures); unknown bytes are octet-stream. */
export async function sniffType(path: string): Promise<string> {
  const found = await fileTypeFromFile(path);
  return found?.mime ?? UNKNOWN_TYPE;
}

export function isSafeImage(type: string): boolean {
  return SAFE_IMAGES.has(type);
}
