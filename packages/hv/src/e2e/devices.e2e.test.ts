/**
 * Devices as osv-run attaches them, seen from inside a VM (test-apps/devinfo):
 * the kernel's random generator is seeded from virtio-rng (and differs from
 * boot to boot), `--no-entropy` falls back to clock jitter, several disks and
 * network devices come up with their names, sizes, serials and MACs, and bad
 * device options are usage errors with a message that says what to fix.
 */
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lastJson, osvRun, testAppImage } from '../testing/testImages.js';

const dir = mkdtempSync(join(tmpdir(), 'osv-dev-e2e-'));
let img = '';

function disk(name: string, bytes: number): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, bytes);
  return path;
}

beforeAll(() => {
  img = testAppImage('devinfo');
});

describe('devices seen from inside the VM', () => {
  it('seeds the random generator from virtio-rng, differently on every boot', async () => {
    const a = lastJson((await osvRun([img])).out);
    const b = lastJson((await osvRun([img])).out);
    expect(a['randomSource']).toBe('virtio-rng');
    expect(a['random']).toMatch(/^[0-9a-f]{64}$/);
    expect(a['random']).not.toBe(b['random']);
  });

  it('falls back to clock jitter without an entropy device', async () => {
    const r = await osvRun([img, '--no-entropy']);
    expect(lastJson(r.out)['randomSource']).toBe('timer-jitter');
    expect(r.code).toBe(0);
  });

  it('brings up several disks and network devices with their names, sizes, serials and MACs', async () => {
    const a = disk('a.img', 1 << 20);
    const b = disk('b.img', 3 << 20);
    const r = await osvRun([img, '--disk', a, '--disk', `${b},readonly,serial=second`, '--net', 'none', '--net', 'none,mac=02:00:00:00:00:09,mtu=9000']);
    const info = lastJson(r.out);
    expect(info['blocks']).toEqual([
      { name: 'vda', size: 1 << 20, blockSize: 512, readOnly: false, id: 'a.img' },
      { name: 'vdb', size: 3 << 20, blockSize: 512, readOnly: true, id: 'second' },
    ]);
    expect(info['nets']).toEqual([
      { name: 'eth0', mac: '52:54:00:12:34:56', mtu: 1500, linkUp: false },
      { name: 'eth1', mac: '02:00:00:00:00:09', mtu: 9000, linkUp: false },
    ]);
  });
});

describe('device options of osv-run', () => {
  it('refuses bad --disk and --net values with exit code 2 and a message', async () => {
    const cases: [string[], RegExp][] = [
      [['--disk', join(dir, 'missing.img')], /--disk .*missing\.img: cannot open it for writing \(ENOENT\)/],
      [['--disk', `${disk('c.img', 4096)},bogus`], /unknown or incomplete option 'bogus'/],
      [['--disk', `${disk('d.img', 4096)},ro,readonly`], /exclude each other/],
      [['--net', 'slirp'], /unknown backend 'slirp' \(known: user, switch:NAME, none, stream:PATH\)/],
      [['--net', 'user,hostfwd=tcp::notaport-:80'], /hostfwd/],
      [['--net', `stream:${join(dir, 'nobody.sock')}`], /cannot connect \(ENOENT\) — is the peer/],
      [['--net', 'none,mac=01:00:00:00:00:01'], /multicast/],
      [['--net', 'none,mtu=20'], /from 68 to 65535/],
      [['--net-dump', join(dir, 'x.pcap')], /--net-dump needs a --net device/],
    ];
    for (const [args, message] of cases) {
      const r = await osvRun([img, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.out).toBe('');
    }
  });

  it('lists the device options in --help', async () => {
    const r = await osvRun(['--help']);
    for (const opt of ['--disk FILE[,ro][,overlay=OVL][,readonly][,serial=ID]', '--net BACKEND[,mac=MAC][,mtu=N]', 'user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]', 'switch:NAME', 'stream:PATH', '--net-dump FILE', '--no-entropy']) expect(r.out).toContain(opt);
  });
});
