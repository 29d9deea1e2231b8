/**
 * `--disk` and `--net` values: what each form means, and the messages for
 * forms that mean nothing.
 */
import { describe, expect, it } from 'vitest';
import { HvError } from '../errors.js';
import { parseDiskSpec } from './diskOptions.js';
import { macAddress, netMtu, parseNetSpec } from './netOptions.js';

describe('--disk FILE[,ro][,overlay=OVL][,readonly][,serial=ID]', () => {
  it('parses every form', () => {
    expect(parseDiskSpec('d.img')).toEqual({ path: 'd.img' });
    expect(parseDiskSpec('d.img,ro')).toEqual({ path: 'd.img', ro: true });
    expect(parseDiskSpec('/x/d.img,overlay=/tmp/o.cow,serial=abc')).toEqual({ path: '/x/d.img', overlay: '/tmp/o.cow', serial: 'abc' });
    expect(parseDiskSpec('d.img,readonly')).toEqual({ path: 'd.img', readonly: true });
    expect(parseDiskSpec('d.img,serial=')).toEqual({ path: 'd.img', serial: '' });
  });

  it('refuses what it does not know, naming the part', () => {
    expect(() => parseDiskSpec('')).toThrow(HvError);
    expect(() => parseDiskSpec('')).toThrow(/no file given/);
    expect(() => parseDiskSpec('d.img,rw')).toThrow(/unknown or incomplete option 'rw'/);
    expect(() => parseDiskSpec('d.img,overlay')).toThrow(/'overlay'/);
    expect(() => parseDiskSpec('d.img,ro=1')).toThrow(/'ro=1'/);
  });
});

describe('--net none|stream:PATH[,mac=MAC][,mtu=N][,dump=FILE][,offloads=on|csum|off]', () => {
  it('parses every form', () => {
    expect(parseNetSpec('none')).toEqual({ backend: 'none' });
    expect(parseNetSpec('stream:/tmp/passt.sock')).toEqual({ backend: 'stream:/tmp/passt.sock' });
    expect(parseNetSpec('stream:/s,mac=02:00:00:00:00:01,mtu=9000,dump=/tmp/x.pcap')).toEqual({ backend: 'stream:/s', mac: '02:00:00:00:00:01', mtu: 9000, dump: '/tmp/x.pcap' });
    expect(parseNetSpec('none,offloads=off')).toEqual({ backend: 'none', offloads: false });
    expect(parseNetSpec('none,offloads=csum')).toEqual({ backend: 'none', offloads: 'csum' });
    expect(parseNetSpec('user,offloads=on,hostfwd=tcp::8080-:80')).toMatchObject({ backend: 'user', offloads: true, user: { hostForwards: [expect.objectContaining({ guestPort: 80 })] } });
  });

  it('refuses unknown backends and options', () => {
    expect(() => parseNetSpec('slirp')).toThrow(/unknown backend 'slirp' \(known: user, switch:NAME, none, stream:PATH\)/);
    expect(parseNetSpec('user,hostfwd=tcp::8080-:80,mtu=1400')).toMatchObject({ backend: 'user', mtu: 1400, user: { hostForwards: [expect.objectContaining({ hostPort: 8080, guestPort: 80 })] } });
    expect(parseNetSpec('switch:lab')).toEqual({ backend: 'switch:lab' });
    expect(() => parseNetSpec('user,hostfwd=tcp:nonsense')).toThrow(/hostfwd/);
    expect(() => parseNetSpec('stream:')).toThrow(/unknown backend/);
    expect(() => parseNetSpec('none,speed=10')).toThrow(/unknown or incomplete option 'speed=10'/);
    expect(() => parseNetSpec('none,mtu=big')).toThrow(/'mtu=big'/);
    expect(() => parseNetSpec('none,offloads=maybe')).toThrow(/'offloads=maybe'.*offloads=on\|csum\|off/);
  });

  it('numbers default MACs as QEMU does, and checks given ones and MTUs', () => {
    expect(Array.from(macAddress({ backend: 'none' }, 0))).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    expect(Array.from(macAddress({ backend: 'none' }, 2))).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x58]);
    expect(Array.from(macAddress({ backend: 'none', mac: '02:AB:cd:00:00:01' }, 0))).toEqual([2, 0xab, 0xcd, 0, 0, 1]);
    expect(() => macAddress({ backend: 'none', mac: '02:ab:cd:00:00' }, 0)).toThrow(/not a MAC address/);
    expect(() => macAddress({ backend: 'none', mac: '03:00:00:00:00:00' }, 0)).toThrow(/multicast/);
    expect(netMtu({ backend: 'none' })).toBe(1500);
    expect(() => netMtu({ backend: 'none', mtu: 67 })).toThrow(/from 68 to 65535/);
    expect(() => netMtu({ backend: 'none', mtu: 65536 })).toThrow(/from 68 to 65535/);
  });
});
