import { describe, expect, it } from 'vitest';
import { ipv4Bytes, ipv6Bytes } from './ipText.js';

describe('host address text', () => {
  it('turns into the bytes of A and AAAA records', () => {
    expect([...ipv4Bytes('127.0.0.1')!]).toEqual([127, 0, 0, 1]);
    expect(ipv4Bytes('::1')).toBeNull();
    expect([...ipv6Bytes('::1')!]).toEqual([...new Array(15).fill(0), 1]);
    expect([...ipv6Bytes('2001:db8::ff00:42:8329')!]).toEqual([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42, 0x83, 0x29]);
    expect([...ipv6Bytes('::ffff:10.0.2.2')!].slice(10)).toEqual([0xff, 0xff, 10, 0, 2, 2]);
    expect([...ipv6Bytes('fe80::1%eth0')!].slice(0, 2)).toEqual([0xfe, 0x80]);
    expect(ipv6Bytes('nonsense')).toBeNull();
  });
});
