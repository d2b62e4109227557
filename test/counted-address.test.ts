import { describe, expect, it } from 'vitest';
import { countedAddress } from '../src/transports/counted-address.js';

describe('countedAddress', () => {
  it('counts IPv4 as it is, an IPv4 peer on a dual-stack socket as IPv4, and IPv6 by its /64', () => {
    expect(countedAddress('203.0.113.5')).toBe('203.0.113.5');
    expect(countedAddress('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(countedAddress('::ffff:cb00:7105')).toBe('203.0.113.5');
    expect(countedAddress('0:0:0:0:0:FFFF:CB00:7106')).toBe('203.0.113.6');
    expect(countedAddress('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(countedAddress('2001:0DB8:0001:0002::5')).toBe('2001:db8:1:2::/64');
    expect(countedAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(countedAddress('::1')).toBe('0:0:0:0::/64');
    expect(countedAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(countedAddress('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('counts what does not parse as it is', () => {
    for (const odd of ['unknown', '1:2:3', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '']) expect(countedAddress(odd)).toBe(odd);
  });
});
