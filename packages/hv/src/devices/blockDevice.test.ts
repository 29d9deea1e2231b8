/**
 * The virtio-blk device model, driven by the virtio package's real driver
 * side: every request type, the request-level checks of virtio 5.2.6.2, and
 * the guest mistakes that must end in DEVICE_NEEDS_RESET rather than an hv
 * exception.
 */
import {
  VIRTIO_BLK_CONFIG_LAYOUT as CFG,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  featureBit,
  virtqAvailLayout,
} from '@osv-ts/virtio';
import type { VirtqueueDriver } from '@osv-ts/virtio/driver';
import { describe, expect, it } from 'vitest';
import { DeviceHarness } from '../testing/deviceHarness.js';
import { MemoryBlockBackend } from '../testing/memoryBlockBackend.js';
import { createBlockDevice, type BlockModel } from './blockDevice.js';

const MEM = 1 << 20;
const DISK = 64 * 1024;

interface Setup {
  h: DeviceHarness;
  model: BlockModel;
  disk: MemoryBlockBackend;
  vq: VirtqueueDriver;
  /** Completions collected early (to free descriptors) and not yet returned by used(). */
  done: { token: number; len: number }[];
}

function setup(opts: { readOnly?: boolean; deferred?: boolean; features?: bigint; queue?: number } = {}): Setup {
  const disk = new MemoryBlockBackend(DISK, true, 'test-serial-0123456789', opts.deferred ? 'deferred' : 'immediate');
  let model: BlockModel | undefined;
  const h = new DeviceHarness(MEM, (w) => {
    const made = createBlockDevice(disk, w, { ...(opts.readOnly ? { readOnly: true } : {}) });
    model = made.model;
    return made.device;
  });
  const wanted = opts.features ?? featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_BLK_F_FLUSH) | featureBit(VIRTIO_BLK_F_DISCARD) | featureBit(VIRTIO_BLK_F_WRITE_ZEROES) | featureBit(VIRTIO_BLK_F_RO);
  h.driver.probe();
  h.driver.negotiate(wanted);
  const vq = h.driver.createQueue(0, h.memory, h.dma, { maxSize: opts.queue ?? 16 });
  h.driver.driverOk();
  return { h, model: model!, disk, vq, done: [] };
}

interface Request {
  readonly hdr: number;
  readonly data: number;
  readonly status: number;
  readonly head: number;
}

/** Builds and submits a request: header, `dataLen` bytes of data (writable for IN/GET_ID), status. */
function submit(s: Setup, type: number, sector: number | bigint, dataLen: number, fill?: (data: Uint8Array) => void): Request {
  const { h, vq } = s;
  for (let t; (t = vq.getUsed()) >= 0; ) s.done.push({ token: t, len: vq.usedLength });
  const hdr = h.dma.alloc(16, 16);
  const data = dataLen > 0 ? h.dma.alloc(dataLen, 512) : 0;
  const status = h.dma.alloc(1, 1);
  const dv = new DataView(h.memory);
  dv.setUint32(hdr, type, true);
  dv.setBigUint64(hdr + 8, BigInt(sector), true);
  h.mem[status] = 0xee;
  if (fill && dataLen > 0) fill(h.mem.subarray(data, data + dataLen));
  const deviceWrites = type === VIRTIO_BLK_T_IN || type === VIRTIO_BLK_T_GET_ID;
  vq.begin();
  vq.push(hdr, 16, false);
  if (dataLen > 0) vq.push(data, dataLen, deviceWrites);
  vq.push(status, 1, true);
  const head = vq.commit(hdr);
  expect(head).toBeGreaterThanOrEqual(0);
  h.driver.kick(0);
  return { hdr, data, status, head };
}

function used(s: Setup): { token: number; len: number }[] {
  const out = s.done.splice(0);
  for (let t; (t = s.vq.getUsed()) >= 0; ) out.push({ token: t, len: s.vq.usedLength });
  return out;
}

describe('virtio-blk device (virtio 5.2)', () => {
  it('offers its features and configuration: capacity, blk_size, seg_max, FLUSH, DISCARD, WRITE_ZEROES', () => {
    const s = setup();
    const f = s.h.driver.features;
    expect(f & featureBit(VIRTIO_BLK_F_FLUSH)).not.toBe(0n);
    expect(f & featureBit(VIRTIO_BLK_F_RO)).toBe(0n);
    expect(f & featureBit(VIRTIO_F_INDIRECT_DESC)).toBe(0n); // not asked for
    expect(s.h.driver.configRead64(CFG.capacity.offset)).toBe(BigInt(DISK / 512));
    expect(s.h.driver.configRead32(CFG.blk_size.offset)).toBe(512);
    expect(s.h.driver.configRead32(CFG.seg_max.offset)).toBeGreaterThan(0);
  });

  it('writes and reads sectors, with the used length covering the writable part', () => {
    const s = setup();
    const w = submit(s, VIRTIO_BLK_T_OUT, 3, 1024, (d) => d.forEach((_, i) => (d[i] = i & 0xff)));
    expect(s.h.mem[w.status]).toBe(VIRTIO_BLK_S_OK);
    expect(used(s)).toEqual([{ token: w.hdr, len: 1 }]);
    expect(s.disk.data[3 * 512 + 7]).toBe(7);
    const r = submit(s, VIRTIO_BLK_T_IN, 3, 1024);
    expect(s.h.mem[r.status]).toBe(VIRTIO_BLK_S_OK);
    expect(used(s)).toEqual([{ token: r.hdr, len: 1025 }]);
    expect(s.h.mem.subarray(r.data, r.data + 1024)).toEqual(s.disk.data.subarray(1536, 2560));
  });

  it('answers GET_ID with the serial (20 bytes, no NUL when full) and FLUSH through the backend', () => {
    const s = setup();
    const id = submit(s, VIRTIO_BLK_T_GET_ID, 0, 20);
    expect(s.h.mem[id.status]).toBe(VIRTIO_BLK_S_OK);
    expect(Buffer.from(s.h.mem.subarray(id.data, id.data + 20)).toString('latin1')).toBe('test-serial-01234567');
    const f = submit(s, VIRTIO_BLK_T_FLUSH, 0, 0);
    expect(s.h.mem[f.status]).toBe(VIRTIO_BLK_S_OK);
    expect(s.disk.flushes).toBe(1);
  });

  it('fails out-of-range sectors and partial sectors with IOERR, unknown types with UNSUPP', () => {
    const s = setup();
    const cases: [number, number | bigint, number, number][] = [
      [VIRTIO_BLK_T_IN, DISK / 512, 512, VIRTIO_BLK_S_IOERR], // one past the end
      [VIRTIO_BLK_T_IN, DISK / 512 - 1, 1024, VIRTIO_BLK_S_IOERR], // runs off the end
      [VIRTIO_BLK_T_OUT, 2n ** 63n, 512, VIRTIO_BLK_S_IOERR], // absurd sector
      [VIRTIO_BLK_T_OUT, 2n ** 55n - 1n, 512, VIRTIO_BLK_S_IOERR], // sector·512 overflows 2^64
      [VIRTIO_BLK_T_IN, 0, 100, VIRTIO_BLK_S_IOERR], // not whole sectors
      [VIRTIO_BLK_T_OUT, 0, 513, VIRTIO_BLK_S_IOERR],
      [VIRTIO_BLK_T_IN, DISK / 512 - 1, 512, VIRTIO_BLK_S_OK], // the last sector is fine
      [2, 0, 0, VIRTIO_BLK_S_UNSUPP], // legacy SCSI
      [10, 0, 8, VIRTIO_BLK_S_UNSUPP], // GET_LIFETIME: not offered
      [0xffffffff, 0, 0, VIRTIO_BLK_S_UNSUPP],
    ];
    for (const [type, sector, len, want] of cases) {
      const r = submit(s, type, sector, len);
      expect(s.h.mem[r.status], `type ${type} sector ${sector} len ${len}`).toBe(want);
    }
    expect(s.disk.writes).toBe(0);
    expect(s.h.needsReset()).toBe(false);
  });

  it('on a read-only device offers VIRTIO_BLK_F_RO and fails every write with IOERR, writing nothing (5.2.6.2)', () => {
    const s = setup({ readOnly: true });
    expect(s.h.driver.hasFeature(VIRTIO_BLK_F_RO)).toBe(true);
    expect(s.h.driver.hasFeature(VIRTIO_BLK_F_DISCARD)).toBe(false);
    const w = submit(s, VIRTIO_BLK_T_OUT, 0, 512, (d) => d.fill(9));
    expect(s.h.mem[w.status]).toBe(VIRTIO_BLK_S_IOERR);
    const z = submit(s, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, (d) => new DataView(d.buffer, d.byteOffset).setUint32(8, 1, true));
    expect(s.h.mem[z.status]).toBe(VIRTIO_BLK_S_IOERR);
    expect(s.disk.writes).toBe(0);
    expect(s.disk.data.every((b) => b === 0)).toBe(true);
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_IN, 0, 512).status]).toBe(VIRTIO_BLK_S_OK);
  });

  it('checks DISCARD and WRITE_ZEROES segments: unmap on DISCARD and unknown flags are UNSUPP, bad ranges IOERR', () => {
    const s = setup();
    s.disk.data.fill(0xaa);
    const seg = (sector: number, n: number, flags: number) => (d: Uint8Array) => {
      const v = new DataView(d.buffer, d.byteOffset);
      v.setBigUint64(0, BigInt(sector), true);
      v.setUint32(8, n, true);
      v.setUint32(12, flags, true);
    };
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, seg(2, 3, 1)).status]).toBe(VIRTIO_BLK_S_OK);
    expect(s.disk.data.subarray(1024, 2560).every((b) => b === 0)).toBe(true);
    expect(s.disk.data[1023]).toBe(0xaa);
    expect(s.disk.data[2560]).toBe(0xaa);
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_DISCARD, 0, 16, seg(0, 1, 0)).status]).toBe(VIRTIO_BLK_S_OK);
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_DISCARD, 0, 16, seg(0, 1, 1)).status]).toBe(VIRTIO_BLK_S_UNSUPP);
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, seg(0, 1, 6)).status]).toBe(VIRTIO_BLK_S_UNSUPP);
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, seg(DISK / 512, 1, 0)).status]).toBe(VIRTIO_BLK_S_IOERR);
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_WRITE_ZEROES, 0, 12, seg(0, 1, 0)).status]).toBe(VIRTIO_BLK_S_IOERR); // not a whole segment
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16 * 65).status]).toBe(VIRTIO_BLK_S_IOERR); // above max_write_zeroes_seg
  });

  it('answers DISCARD and WRITE_ZEROES with UNSUPP when the driver did not negotiate them', () => {
    const s = setup({ features: featureBit(VIRTIO_BLK_F_FLUSH) });
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16).status]).toBe(VIRTIO_BLK_S_UNSUPP);
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_DISCARD, 0, 16).status]).toBe(VIRTIO_BLK_S_UNSUPP);
  });

  it('writes through (fdatasync before completion) when the driver did not negotiate FLUSH (5.2.6.2)', () => {
    const s = setup({ features: 0n });
    submit(s, VIRTIO_BLK_T_OUT, 0, 512);
    expect(s.disk.flushes).toBe(1);
  });

  it('reports a host I/O error as IOERR and logs it', () => {
    const s = setup();
    s.disk.failWith = 'EIO';
    expect(s.h.mem[submit(s, VIRTIO_BLK_T_IN, 0, 512).status]).toBe(VIRTIO_BLK_S_IOERR);
    expect(s.h.logs.join('\n')).toMatch(/host I\/O error/);
  });

  it('keeps many requests in flight, completes them out of order and publishes a burst with one interrupt', () => {
    const s = setup({ deferred: true, queue: 128 });
    const reqs = Array.from({ length: 32 }, (_, i) => submit(s, VIRTIO_BLK_T_IN, i, 512));
    expect(s.disk.waiting).toBe(32);
    expect(used(s)).toEqual([]);
    const irqs = s.h.irqs;
    s.disk.completeAllReversed();
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const got = used(s);
      expect(got.map((u) => u.token).sort((a, b) => a - b)).toEqual(reqs.map((r) => r.hdr).sort((a, b) => a - b));
      expect(reqs.every((r) => s.h.mem[r.status] === VIRTIO_BLK_S_OK)).toBe(true);
      expect(s.h.irqs - irqs).toBe(1);
    });
  });

  it('goes to DEVICE_NEEDS_RESET for a request without a 16-byte header or without a status byte', () => {
    for (const shape of ['short header', 'no status'] as const) {
      const s = setup();
      const a = s.h.dma.alloc(64, 16);
      s.vq.begin();
      if (shape === 'short header') {
        s.vq.push(a, 8, false);
        s.vq.push(a + 32, 1, true);
      } else s.vq.push(a, 16, false);
      s.vq.commit(1);
      s.h.driver.kick(0);
      expect(s.h.needsReset(), shape).toBe(true);
      expect(s.h.logs.join('\n')).toMatch(shape === 'short header' ? /lacks a 16-byte device-readable header/ : /lacks a device-writable status byte/);
    }
  });

  it('goes to DEVICE_NEEDS_RESET when a head is made available again while its request is in flight', () => {
    const s = setup({ deferred: true });
    const r = submit(s, VIRTIO_BLK_T_IN, 0, 512);
    // Hostile: publish the same head again behind the driver's back.
    const avail = virtqAvailLayout(s.vq.size);
    const dv = new DataView(s.h.memory);
    dv.setUint16(s.vq.driverAddr + avail.ring.offset + 2, r.head, true);
    dv.setUint16(s.vq.driverAddr + avail.idx.offset, 2, true);
    s.h.driver.notify(0);
    expect(s.h.needsReset()).toBe(true);
    expect(s.h.logs.join('\n')).toMatch(/made available again while its request is in flight/);
    s.disk.completeAllReversed(); // the in-flight request finishes without touching the broken queue
  });

  it('after a reset, completions of old requests touch neither guest memory nor the rings', async () => {
    const s = setup({ deferred: true });
    const r = submit(s, VIRTIO_BLK_T_FLUSH, 0, 0);
    const before = s.h.mem.slice();
    s.h.driver.reset();
    s.disk.completeAllReversed();
    await new Promise((resolve) => setImmediate(resolve));
    expect(s.h.mem[r.status]).toBe(0xee);
    expect(Buffer.compare(Buffer.from(before), Buffer.from(s.h.mem))).toBe(0);
    await s.model.quiesce();
  });
});
