interface CryptoLike {
  getRandomValues?: <T extends Uint8Array>(array: T) => T;
}

/**
 * A fresh client id for a publish: 128 random bits in base64url, 22 characters (a UUID
 * takes 36, and every receiver of the event gets its cid). getRandomValues exists in
 * every browser context, secure or not, and in Node.
 */
export function newCid(): string {
  const crypto = (globalThis as { crypto?: CryptoLike }).crypto;
  const bytes = new Uint8Array(16);
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
