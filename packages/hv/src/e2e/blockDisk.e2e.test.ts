/**
 * The block device end to end, as the "done when" asks: the
 * kernel's virtio-blk driver inside a booted VM (test-apps/blockcheck)
 * against the hv's device and a host file, through osv-run.
 *
 *  - 64 MiB written with 32 requests in flight and flushed, then read back
 *    equal after the VM is booted again — and checked in the file on the
 *    host, independently of the guest;
 *  - `ro` (memory overlay) and `overlay=FILE` leave the image file untouched
 *    (SHA-256), the file overlay keeps the guest's writes across boots;
 *  - `readonly` is a read-only device to the guest.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkPattern, fillPattern } from '../testing/diskPattern.js';
import { lastJson, osvRun, testAppImage } from '../testing/testImages.js';

const dir = mkdtempSync(join(tmpdir(), 'osv-blk-e2e-'));
const MIB64 = 64 * 1024 * 1024;
let img = '';

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function disk(name: string, bytes: number, seed?: number): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, bytes);
  if (seed !== undefined) {
    const b = new Uint8Array(bytes);
    fillPattern(b, 0, seed);
    writeFileSync(path, b);
  }
  return path;
}

async function blockcheck(diskArg: string, ...cmd: string[]): Promise<Record<string, unknown>> {
  const r = await osvRun([img, '--disk', diskArg, '--cmdline', `/blockcheck.js ${cmd.join(' ')}`]);
  expect(r.err, `osv-run stderr for ${cmd.join(' ')}`).toBe('');
  const result = lastJson(r.out);
  expect(r.code, JSON.stringify(result)).toBe(result['ok'] === false ? 1 : 0);
  return result;
}

beforeAll(() => {
  img = testAppImage('blockcheck');
});

describe('virtio-blk in a booted VM', () => {
  it('writes a 64 MiB disk with 32 requests in flight, flushes, and reads it back equal after booting again', async () => {
    const path = disk('data.img', MIB64);
    const w = await blockcheck(path, 'write', '42', '--inflight', '32');
    expect(w).toMatchObject({ ok: true, bytes: MIB64 });
    const host = readFileSync(path);
    expect(checkPattern(new Uint8Array(host.buffer, host.byteOffset, host.length), 0, 42)).toBe(-1);
    const v = await blockcheck(path, 'verify', '42', '--inflight', '32');
    expect(v).toMatchObject({ ok: true, bytes: MIB64 });
    const wrong = await blockcheck(path, 'verify', '43', '--max-bytes', '1048576');
    expect(wrong).toMatchObject({ ok: false, firstMismatch: 0 });
  });

  it('ro: the guest reads its own writes, the image file stays byte for byte the same, the next boot sees the original', async () => {
    const path = disk('base-ro.img', 8 * 1024 * 1024, 5);
    const before = sha(path);
    expect(await blockcheck(`${path},ro`, 'write', '6')).toMatchObject({ ok: true });
    expect(await blockcheck(`${path},ro`, 'check')).toMatchObject({ write: 'ok', read: 'ok', same: true, readOnly: false });
    expect(sha(path)).toBe(before);
    expect(await blockcheck(`${path},ro`, 'verify', '5')).toMatchObject({ ok: true });
  });

  it('overlay=FILE: the guest writes survive a reboot in the overlay, the image file stays the same', async () => {
    const path = disk('base-ovl.img', 8 * 1024 * 1024, 5);
    const overlay = join(dir, 'guest.cow');
    const before = sha(path);
    expect(await blockcheck(`${path},overlay=${overlay}`, 'write', '9')).toMatchObject({ ok: true });
    expect(await blockcheck(`${path},overlay=${overlay}`, 'verify', '9')).toMatchObject({ ok: true });
    expect(sha(path)).toBe(before);
    expect(await blockcheck(path, 'verify', '5')).toMatchObject({ ok: true });
  });

  it('readonly: the guest sees a read-only disk and its writes fail with EROFS; ids and bounds are right', async () => {
    const path = disk('ro-dev.img', 4 * 1024 * 1024, 3);
    const before = sha(path);
    const r = await blockcheck(`${path},readonly,serial=golden-disk`, 'check');
    expect(r).toMatchObject({ id: 'golden-disk', readOnly: true, write: 'EROFS', read: 'ok', misaligned: 'EINVAL', beyondEnd: 'EINVAL', lastBlock: 'ok', parallel: true });
    expect(sha(path)).toBe(before);
  });
});
