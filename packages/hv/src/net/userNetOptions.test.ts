import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HvError } from '../errors.js';
import { DEFAULT_USER_NET, parseUserNetOptions } from './userNetOptions.js';

describe('parseUserNetOptions', () => {
  it('gives QEMU defaults for a bare "user"', () => {
    expect(parseUserNetOptions('user')).toEqual(DEFAULT_USER_NET);
    expect(parseUserNetOptions('')).toEqual(DEFAULT_USER_NET);
  });

  it('reads hostfwd rules in all their spellings', () => {
    const o = parseUserNetOptions('user,hostfwd=tcp::8080-:80,hostfwd=udp:127.0.0.2:5353-10.0.2.20:53,hostfwd=:0.0.0.0:2222-:22');
    expect(o.hostForwards).toEqual([
      { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestAddress: 0x0a00020f, guestPort: 80 },
      { protocol: 'udp', hostAddress: '127.0.0.2', hostPort: 5353, guestAddress: 0x0a000214, guestPort: 53 },
      { protocol: 'tcp', hostAddress: '0.0.0.0', hostPort: 2222, guestAddress: 0x0a00020f, guestPort: 22 },
    ]);
  });

  it('moves the network and its addresses', () => {
    const o = parseUserNetOptions('net=192.168.76.0/24,host=192.168.76.1,dns=192.168.76.53,dhcpstart=192.168.76.100,restrict=on,hostfwd=tcp::1-:2');
    expect(o).toMatchObject({ network: 0xc0a84c00, prefixLength: 24, gateway: 0xc0a84c01, dns: 0xc0a84c35, dhcpStart: 0xc0a84c64, restrict: true });
    expect(o.hostForwards[0]!.guestAddress).toBe(0xc0a84c64);
    expect(parseUserNetOptions('net=10.9.0.0/16')).toMatchObject({ network: 0x0a090000, gateway: 0x0a090002, dns: 0x0a090003, dhcpStart: 0x0a09000f });
  });

  it.each([
    ['hostfwd=tcp::80', "'hostfwd=tcp::80'"],
    ['hostfwd=tcp::x-:80', "host port 'x'"],
    ['hostfwd=tcp::80-:0', "guest port '0'"],
    ['hostfwd=sctp::80-:80', "'hostfwd=sctp::80-:80'"],
    ['hostfwd=tcp:300.1.1.1:80-:80', "'300.1.1.1' is not an IPv4 address"],
    ['hostfwd=tcp::80-192.168.1.1:80', 'outside the guest network'],
    ['net=10.0.2.0/31', "'net=10.0.2.0/31'"],
    ['host=10.0.3.2', "'host=10.0.3.2'"],
    ['dns=10.0.2.2', 'three different addresses'],
    ['restrict=maybe', "'restrict=maybe'"],
    ['guestfwd=tcp:10.0.2.100:1234-cmd:cat', 'not supported yet'],
    ['smb=/tmp', 'not supported yet'],
    ['ipv4=off', 'not supported yet'],
    ['bogus', "'bogus': unknown"],
    ['host=', "'host=': unknown or incomplete"],
  ])('refuses %s, naming the bad part', (opt, message) => {
    expect(() => parseUserNetOptions(`user,${opt}`)).toThrow(HvError);
    expect(() => parseUserNetOptions(`user,${opt}`)).toThrow(message);
  });

  it('throws nothing but HvError BAD_OPTION (or NOT_SUPPORTED) for any text', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('hostfwd=', 'tcp:', ':', '-', 'net=', '10.0.2.', '/', ',', 'udp')), { maxLength: 12 }), (bits) => {
        try {
          parseUserNetOptions(bits.join(''));
        } catch (e) {
          expect(e).toBeInstanceOf(HvError);
          expect(['BAD_OPTION', 'NOT_SUPPORTED']).toContain((e as HvError).code);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
