import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARP_PACKET } from './arp.js';
import { checksum, pseudoHeaderSum, sumBytes, finishChecksum } from './checksum.js';
import { ETHER_HEADER } from './ethernet.js';
import { ICMP_ECHO, ICMP_ERROR } from './icmp.js';
import { IPV4_HEADER } from './ipv4.js';
import { packed } from './layout.js';
import {
  parseTcpOptions, TCP_HEADER, TCPOPT_MAXSEG_LAYOUT, TCPOPT_SACK_BLOCK, TCPOPT_TIMESTAMP_LAYOUT, TCPOPT_WINDOW_LAYOUT,
  TcpOptions, TOF_MSS, TOF_SACK, TOF_SACKPERM, TOF_SCALE, TOF_TS,
} from './tcp.js';
import { UDP_HEADER } from './udp.js';

describe('wire layouts', () => {
  it('have the sizes the specifications give', () => {
    expect(ETHER_HEADER.SIZE).toBe(14); // IEEE 802.3
    expect(ARP_PACKET.SIZE).toBe(28); // RFC 826 for Ethernet/IPv4
    expect(IPV4_HEADER.SIZE).toBe(20); // RFC 791 §3.1
    expect(IPV4_HEADER.src.offset).toBe(12);
    expect(ICMP_ECHO.SIZE).toBe(8);
    expect(ICMP_ERROR.SIZE).toBe(8);
    expect(UDP_HEADER.SIZE).toBe(8);
    expect(TCP_HEADER.SIZE).toBe(20); // RFC 9293 §3.1
    expect(TCP_HEADER.win.offset).toBe(14);
    expect(TCPOPT_MAXSEG_LAYOUT.SIZE).toBe(4);
    expect(TCPOPT_WINDOW_LAYOUT.SIZE).toBe(3);
    expect(TCPOPT_TIMESTAMP_LAYOUT.SIZE).toBe(10);
    expect(TCPOPT_SACK_BLOCK.SIZE).toBe(8);
  });

  it('packed() rejects a repeated field name', () => {
    expect(() => packed([['a', 1], ['a', 2]] as const)).toThrow(TypeError);
  });
});

describe('Internet checksum', () => {
  it('matches RFC 1071 §3 worked example', () => {
    const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(checksum(b, 0, 8)).toBe(~0xddf2 & 0xffff);
  });

  it('verifies to zero once the checksum is inserted, for any data (odd lengths included)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 3000 }), fc.integer({ min: 0, max: 0xffffffff }), (data, src) => {
        const b = new Uint8Array(data.length + 2);
        b.set(data, 2);
        const c = finishChecksum(sumBytes(b, 0, b.length, pseudoHeaderSum(src, 1, 17, b.length)));
        b[0] = c >>> 8;
        b[1] = c & 0xff;
        return finishChecksum(sumBytes(b, 0, b.length, pseudoHeaderSum(src, 1, 17, b.length))) === 0;
      }),
    );
  });
});

describe('TCP option parser', () => {
  it('reads every option kind netchannel understands', () => {
    const o = new TcpOptions();
    const b = Uint8Array.of(2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0);
    parseTcpOptions(b, 0, b.length, true, o);
    expect(o.present).toBe(TOF_MSS | TOF_SCALE | TOF_SACKPERM | TOF_TS);
    expect([o.mss, o.wscale, o.tsVal, o.tsEcr]).toEqual([1460, 7, 1, 2]);
  });

  it('takes SYN-only options only from SYNs, and SACK blocks only from non-SYNs', () => {
    const o = new TcpOptions();
    const b = Uint8Array.of(2, 4, 1, 0, 5, 10, 0, 0, 0, 1, 0, 0, 0, 9);
    parseTcpOptions(b, 0, b.length, false, o);
    expect(o.present).toBe(TOF_SACK);
    expect([o.nsack, o.sack[0], o.sack[1]]).toEqual([1, 1, 9]);
    parseTcpOptions(b, 0, b.length, true, o);
    expect(o.present).toBe(TOF_MSS);
  });

  it('clamps the window shift to 14 (RFC 7323 §2.3)', () => {
    const o = new TcpOptions();
    parseTcpOptions(Uint8Array.of(3, 3, 200), 0, 3, true, o);
    expect(o.wscale).toBe(14);
  });

  it('survives any byte string: never throws, never reads past the options, never reports more than 4 SACK blocks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), (opts, syn) => {
        const o = new TcpOptions();
        const b = new Uint8Array(opts.length + 8).fill(0xaa);
        b.set(opts, 4);
        parseTcpOptions(b, 4, opts.length, syn, o);
        return o.nsack <= 4 && (o.present & TOF_SACK ? !syn : true);
      }),
      { numRuns: 5000 },
    );
  });
});
