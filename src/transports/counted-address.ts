/** Groups of 16 bits in an IPv6 address. */
const GROUPS = 8;
/** The groups that name a network: an IPv6 client holds at least a /64, so that is what one client is. */
const NETWORK_GROUPS = 4;
const GROUP = /^[0-9a-f]{1,4}$/i;

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is `10.0.0.1`. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

/**
 * The key a client address is counted under by per-address limits (connections, sign-in
 * attempts): an IPv4 address as it is (plainAddress; `::ffff:a00:1`, written in hex, is
 * `10.0.0.1` too), an IPv6 address as its /64 (`2001:db8:1:2::/64`). Every IPv6 client is
 * handed at least a /64 and may use any address in it, so counting whole addresses would
 * give it 2^64 budgets. Anything that does not parse is counted as it is.
 *
 * @example countedAddress('2001:db8:1:2:aaaa::5') // '2001:db8:1:2::/64'
 */
export function countedAddress(address: string): string {
  const plain = plainAddress(address);
  if (!plain.includes(':')) return plain;
  const groups = ipv6Groups(plain.split('%')[0]!);
  if (!groups) return plain;
  // An IPv4 address written as IPv6 in hex (`::ffff:c000:201`) is that IPv4 address.
  if (groups.slice(0, 5).every((group) => group === '0') && groups[5] === 'ffff') {
    const [high, low] = [Number.parseInt(groups[6]!, 16), Number.parseInt(groups[7]!, 16)];
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return `${groups.slice(0, NETWORK_GROUPS).join(':')}::/64`;
}

/** The eight groups of an IPv6 address (without leading zeros), or null if it is not one. */
function ipv6Groups(address: string): string[] | null {
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const parts = halves.map((half) => (half === '' ? [] : half.split(':')));
  // A dotted IPv4 tail (`64:ff9b::192.0.2.1`) stands for the last two groups.
  const last = parts.at(-1)!;
  if (last.at(-1)?.includes('.')) last.splice(-1, 1, '0', '0');
  const written = parts.reduce((count, part) => count + part.length, 0);
  if (halves.length === 1 ? written !== GROUPS : written >= GROUPS) return null;
  const groups = halves.length === 1 ? parts[0]! : [...parts[0]!, ...Array<string>(GROUPS - written).fill('0'), ...parts[1]!];
  if (!groups.every((group) => GROUP.test(group))) return null;
  return groups.map((group) => Number.parseInt(group, 16).toString(16));
}
