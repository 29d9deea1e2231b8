/**
 * The device side against a hostile guest: hand-built violations first, then
 * fast-check fuzzing of random and mutated rings on memories sized exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BumpAllocator } from '../internal/testing/bumpAllocator.js';
import { RawRing } from '../internal/testing/rawRing.js';
import { fuzzTest } from '../internal/testing/soak.js';
import { VIRTIO_ERRNO } from '../virtioError.js';
import { VirtqueueDevice, VIRTQ_EMPTY } from './virtqueueDevice.js';
import { VirtqueueDriver } from './virtqueueDriver.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, virtqAvailLayout, virtqLayout, virtqUsedLayout } from './virtqLayout.js';

const MEM = 0x8000;
const N = 8;
const R = VIRTQ_DESC_F_NEXT;
const W = VIRTQ_DESC_F_WRITE;
const I = VIRTQ_DESC_F_INDIRECT;

function hostile(opts: { indirect?: boolean; eventIdx?: boolean } = {}) {
  const mem = new SharedArrayBuffer(MEM);
  const raw = new RawRing(mem, N, 0x1000, 0x1100, 0x1200);
  const reasons: string[] = [];
  const q = new VirtqueueDevice(mem, {
    size: N,
    descAddr: 0x1000,
    driverAddr: 0x1100,
    deviceAddr: 0x1200,
    eventIdx: opts.eventIdx ?? false,
    indirect: opts.indirect ?? true,
    onError: (r) => reasons.push(r),
  });
  return { mem, raw, q, reasons };
}

/** Builds `setup` on a fresh queue, pops once, and returns errno + reason. */
function verdict(setup: (raw: RawRing) => void, opts?: { indirect?: boolean }): [number, string] {
  const h = hostile(opts);
  setup(h.raw);
  const r = h.q.pop();
  if (r < -1) expect(h.q.pop()).toBe(r); // a violation is sticky
  expect(h.reasons.length).toBe(r < -1 ? 1 : 0);
  return [r, h.q.error ?? ''];
}

describe('VirtqueueDevice rejects what a hostile guest can write (2.7.5, 2.7.5.3, 2.7.6)', () => {
  it('accepts a well-formed chain', () => {
    expect(verdict((r) => (r.desc(3, 0x2000, 16, R, 5), r.desc(5, 0x3000, 16, W), r.publish([3])))).toEqual([3, '']);
  });
  it('an avail idx more than the queue size ahead', () => {
    const [e, why] = verdict((r) => r.setAvailIdx(N + 1));
    expect(e).toBe(-VIRTIO_ERRNO.EINVAL);
    expect(why).toMatch(/available idx moved from 0 to 9/);
  });
  it('a head index at or above the queue size', () => {
    expect(verdict((r) => r.publish([N]))[1]).toMatch(/head 8/);
  });
  it('a next index at or above the queue size', () => {
    expect(verdict((r) => (r.desc(0, 0x2000, 8, R, 200), r.publish([0])))[1]).toMatch(/links to descriptor 200/);
  });
  it('a descriptor loop', () => {
    const [e, why] = verdict((r) => (r.desc(0, 0x2000, 8, R, 1), r.desc(1, 0x2000, 8, R, 0), r.publish([0])));
    expect(e).toBe(-VIRTIO_ERRNO.ELOOP);
    expect(why).toMatch(/longer than the queue size/);
  });
  it('a buffer past the end of memory, or with a 64-bit address', () => {
    expect(verdict((r) => (r.desc(0, MEM - 4, 8, 0), r.publish([0])))[0]).toBe(-VIRTIO_ERRNO.EFAULT);
    expect(verdict((r) => (r.desc(0, 2 ** 40, 8, 0), r.publish([0])))[0]).toBe(-VIRTIO_ERRNO.EFAULT);
    expect(verdict((r) => (r.desc(0, 2 ** 63, 8, 0), r.publish([0])))[0]).toBe(-VIRTIO_ERRNO.EFAULT);
    expect(verdict((r) => (r.desc(0, 0, 0xffffffff, 0), r.publish([0])))[0]).toBe(-VIRTIO_ERRNO.EFAULT);
    expect(verdict((r) => (r.desc(0, MEM - 8, 8, 0), r.publish([0])))[0]).toBe(0); // the last 8 bytes are fine
  });
  it('a zero-length buffer', () => {
    expect(verdict((r) => (r.desc(0, 0x2000, 0, 0), r.publish([0])))[1]).toMatch(/length 0/);
  });
  it('a device-readable buffer after a device-writable one', () => {
    expect(verdict((r) => (r.desc(0, 0x2000, 8, W | R, 1), r.desc(1, 0x2000, 8, 0), r.publish([0])))[1]).toMatch(/readable buffer after a device-writable/);
  });
  it('an indirect descriptor when INDIRECT_DESC was not negotiated', () => {
    expect(verdict((r) => (r.desc(0, 0x4000, 32, I), r.publish([0])), { indirect: false })[1]).toMatch(/not negotiated/);
  });
  it('indirect tables: bad length, outside memory, NEXT+INDIRECT, nested, bad next', () => {
    expect(verdict((r) => (r.desc(0, 0x4000, 24, I), r.publish([0])))[1]).toMatch(/not a non-zero multiple of 16/);
    expect(verdict((r) => (r.desc(0, 0x4000, 0, I), r.publish([0])))[1]).toMatch(/not a non-zero multiple of 16/);
    expect(verdict((r) => (r.desc(0, MEM - 16, 32, I), r.publish([0])))[0]).toBe(-VIRTIO_ERRNO.EFAULT);
    expect(verdict((r) => (r.desc(0, 0x4000, 32, I | R, 1), r.publish([0])))[1]).toMatch(/both INDIRECT and NEXT/);
    expect(verdict((r) => (r.desc(0, 0x4000, 32, I), r.desc(0, 0x5000, 16, I, 0, 0x4000), r.publish([0])))[1]).toMatch(/inside an indirect table/);
    expect(verdict((r) => (r.desc(0, 0x4000, 32, I), r.desc(0, 0x5000, 16, R, 2, 0x4000), r.publish([0])))[1]).toMatch(/indirect table size 2/);
  });
  it('an indirect table that loops, or is longer than the queue', () => {
    const loop = verdict((r) => (r.desc(0, 0x4000, 32, I), r.desc(0, 0x5000, 8, R, 1, 0x4000), r.desc(1, 0x5000, 8, R, 0, 0x4000), r.publish([0])));
    expect(loop[0]).toBe(-VIRTIO_ERRNO.ELOOP);
    const long = verdict((r) => {
      r.desc(0, 0x4000, 16 * (N + 1), I);
      for (let i = 0; i <= N; i++) r.desc(i, 0x5000, 8, i < N ? R : 0, i + 1, 0x4000);
      r.publish([0]);
    });
    expect(long[0]).toBe(-VIRTIO_ERRNO.ELOOP);
  });
  it('accepts direct descriptors followed by an indirect table (2.7.5.3.2), at an unaligned address', () => {
    const h = hostile();
    h.raw.desc(0, 0x2000, 8, R, 1);
    h.raw.desc(1, 0x4003, 32, I);
    h.raw.desc(0, 0x5000, 8, R, 1, 0x4003);
    h.raw.desc(1, 0x6000, 8, W, 0, 0x4003);
    h.raw.publish([0]);
    expect(h.q.pop()).toBe(0);
    expect([h.q.chain.count, h.q.chain.readableCount, h.q.chain.segmentAddress(1)]).toEqual([3, 2, 0x5000]);
  });
  it('check() refuses misaligned rings and rings outside memory', () => {
    const ok = { size: 8, descAddr: 0x1000, driverAddr: 0x1100, deviceAddr: 0x1200 };
    expect(VirtqueueDevice.check(MEM, ok)).toBeNull();
    expect(VirtqueueDevice.check(MEM, { ...ok, size: 6 })).toMatch(/power of two/);
    expect(VirtqueueDevice.check(MEM, { ...ok, descAddr: 0x1008 })).toMatch(/16-byte aligned/);
    expect(VirtqueueDevice.check(MEM, { ...ok, driverAddr: 0x1101 })).toMatch(/2-byte aligned/);
    expect(VirtqueueDevice.check(MEM, { ...ok, deviceAddr: 0x1202 })).toMatch(/4-byte aligned/);
    expect(VirtqueueDevice.check(MEM, { ...ok, deviceAddr: MEM - 8 })).toMatch(/outside guest memory/);
    expect(VirtqueueDevice.check(MEM, { ...ok, descAddr: Infinity })).toMatch(/outside guest memory/);
    expect(() => new VirtqueueDevice(new SharedArrayBuffer(64), { ...ok, eventIdx: false, indirect: false })).toThrow(/outside guest memory/);
  });
  it('stops touching memory once detached', () => {
    const h = hostile();
    h.raw.desc(0, 0x2000, 8, W);
    h.raw.publish([0]);
    h.q.detach();
    expect(h.q.pop()).toBe(-VIRTIO_ERRNO.ENODEV);
    expect(h.q.pushUsed(0, 8)).toBe(-VIRTIO_ERRNO.ENODEV);
    expect(h.q.flush()).toBe(false);
    expect(new DataView(h.mem).getUint16(0x1202, true)).toBe(0);
  });
  it('rejects pushUsed of a head outside the queue', () => {
    const h = hostile();
    expect(h.q.pushUsed(N, 0)).toBe(-VIRTIO_ERRNO.EINVAL);
    expect(h.q.pushUsed(-1, 0)).toBe(-VIRTIO_ERRNO.EINVAL);
    expect(h.q.pushUsed(0.5, 0)).toBe(-VIRTIO_ERRNO.EINVAL);
  });
});

// ---- fuzzing ------------------------------------------------------------------------------

/** xorshift32: fills big random buffers quickly from one fast-check seed. */
function fillRandom(bytes: Uint8Array, seed: number): void {
  let x = seed | 1;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
}

interface Region {
  start: number;
  end: number;
}

/**
 * Pops until the queue is empty or broken, echoing into writable segments.
 * Checks every segment lies inside memory, readable before writable, at most
 * N segments, and at most N chains per burst. Returns the regions the device
 * may have written and the final pop result.
 */
function drain(q: VirtqueueDevice, memSize: number, scratch: Uint8Array, allowed: Region[], popped: number[] = []): number {
  let pops = 0;
  for (;;) {
    const h = q.pop();
    if (h < 0) return h;
    popped.push(h);
    if (++pops > q.size) throw new Error(`popped ${pops} chains from a queue of ${q.size} without new avail entries`);
    const c = q.chain;
    if (c.count < 1 || c.count > q.size) throw new Error(`chain of ${c.count} segments`);
    for (let i = 0; i < c.count; i++) {
      const a = c.segmentAddress(i);
      const l = c.segmentLength(i);
      if (!(l > 0 && a >= 0 && a + l <= memSize)) throw new Error(`segment ${a}+${l} outside memory of ${memSize}`);
      if (c.isWritable(i)) allowed.push({ start: a, end: a + l });
      else if (i > 0 && c.isWritable(i - 1)) throw new Error('readable after writable');
    }
    c.read(scratch);
    const n = c.write(scratch);
    if (q.pushUsed(h, n) !== 0) throw new Error('pushUsed failed');
    if (pops % 3 === 0) q.flush();
  }
}

function assertOnlyAllowedWrites(before: Uint8Array, after: Uint8Array, allowed: Region[]): void {
  for (let i = 0; i < after.length; i++) {
    if (before[i] === after[i]) continue;
    if (!allowed.some((r) => i >= r.start && i < r.end)) throw new Error(`device wrote byte ${i} outside the used ring and writable buffers`);
  }
}

const queueArb = fc.record({
  logSize: fc.integer({ min: 0, max: 6 }),
  slack: fc.integer({ min: 0, max: 3000 }),
  seed: fc.integer(),
  eventIdx: fc.boolean(),
  indirect: fc.boolean(),
  rounds: fc.integer({ min: 1, max: 3 }),
});

describe('VirtqueueDevice fuzz (fast-check)', () => {
  fuzzTest('random rings on an exactly-sized memory: no throw, no access outside memory, errors are reported', 6_000, 1_000_000, (numRuns) => {
    fc.assert(
      fc.property(queueArb, ({ logSize, slack, seed, eventIdx, indirect, rounds }) => {
        const size = 1 << logSize;
        const l = virtqLayout(size);
        const memSize = l.totalSize + slack; // rings first, then random data; often not a multiple of 4
        const mem = new SharedArrayBuffer(memSize);
        const bytes = new Uint8Array(mem);
        fillRandom(bytes, seed);
        const reasons: string[] = [];
        const q = new VirtqueueDevice(mem, { size, descAddr: 0, driverAddr: l.avail.offset, deviceAddr: l.used.offset, eventIdx, indirect, onError: (r) => reasons.push(r) });
        const allowed: Region[] = [{ start: l.used.offset, end: l.used.offset + l.used.size }];
        allowed.push({ start: l.avail.offset + 2, end: l.avail.offset + 4 }); // avail idx: this test plays the guest
        const before = bytes.slice();
        let last = 0;
        for (let r = 0; r < rounds && last >= -1; r++) {
          last = drain(q, memSize, new Uint8Array(256), allowed);
          q.flush();
          // the guest moves avail idx on by a random amount
          new DataView(mem).setUint16(l.avail.offset + 2, (seed >>> (r * 5)) & 0xffff, true);
        }
        assertOnlyAllowedWrites(before, bytes, allowed);
        if (q.error !== null) {
          if (reasons.length !== 1 || reasons[0] !== q.error) throw new Error('violation not reported exactly once');
          if (q.pop() >= -1) throw new Error('broken queue popped again');
        } else if (reasons.length !== 0) throw new Error('reported without an error');
      }),
      { numRuns },
    );
  });

  fuzzTest('valid driver-built rings with random byte mutations: every accepted chain is well-formed', 6_000, 1_000_000, (numRuns) => {
    fc.assert(
      fc.property(
        queueArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 12 }),
        ({ logSize, seed, eventIdx, indirect }, mutations, chainLengths) => {
          const size = 1 << logSize;
          const mem = new SharedArrayBuffer(0x1000 + 3 * 1024 + size * 32 * 16 + 4096 + 61);
          const bytes = new Uint8Array(mem);
          const dma = new BumpAllocator(mem.byteLength, 0x1000);
          const drv = new VirtqueueDriver(mem, dma, { size, eventIdx, indirect, indirectThreshold: 2 });
          const data = dma.alloc(4096, 8);
          fillRandom(bytes.subarray(data, data + 4096), seed);
          chainLengths.forEach((k, t) => {
            drv.begin();
            for (let j = 0; j < k; j++) drv.push(data + ((seed + j * 97) & 0xfff) % 4000, 1 + ((seed >>> j) & 63), j >= k / 2);
            drv.commit(t);
          });
          drv.kick();
          for (const [at, v] of mutations) bytes[drv.descAddr + (at % (dma.top - drv.descAddr))] = v; // rings, tables, data
          const q = new VirtqueueDevice(mem, { size, descAddr: drv.descAddr, driverAddr: drv.driverAddr, deviceAddr: drv.deviceAddr, eventIdx, indirect });
          const allowed: Region[] = [{ start: drv.deviceAddr, end: drv.deviceAddr + virtqUsedLayout(size).SIZE }];
          const before = bytes.slice();
          drain(q, mem.byteLength, new Uint8Array(512), allowed);
          q.flush();
          assertOnlyAllowedWrites(before, bytes, allowed);
          if (mutations.length === 0 && q.error !== null) throw new Error(`a valid ring was rejected: ${q.error}`);
        },
      ),
      { numRuns },
    );
  });

  fuzzTest('a garbage avail ring never yields more than N chains per avail idx step', 3_000, 200_000, (numRuns) => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 0xffff }), (seed, idx) => {
        const size = 16;
        const l = virtqLayout(size);
        const mem = new SharedArrayBuffer(l.totalSize);
        fillRandom(new Uint8Array(mem), seed);
        new DataView(mem).setUint16(l.avail.offset + virtqAvailLayout(size).idx.offset, idx, true);
        const q = new VirtqueueDevice(mem, { size, descAddr: 0, driverAddr: l.avail.offset, deviceAddr: l.used.offset, eventIdx: true, indirect: true });
        const r = drain(q, l.totalSize, new Uint8Array(16), []);
        if (idx > size && r !== -VIRTIO_ERRNO.EINVAL) throw new Error('avail idx jump not caught');
        if (r === VIRTQ_EMPTY && q.error !== null) throw new Error('empty but broken');
      }),
      { numRuns },
    );
  });
});

describe('VirtqueueDevice fuzz with plausible descriptors', () => {
  const MEMSZ = 0x3000 + 13; // rings at 0, an indirect table area at 0x800, data above; not a multiple of 4
  const descArb = (entries: number) =>
    fc.record({
      addr: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0x1000, max: 0x2fff }) },
        { weight: 1, arbitrary: fc.integer({ min: MEMSZ - 64, max: MEMSZ + 64 }) },
        { weight: 1, arbitrary: fc.constantFrom(2 ** 32, 2 ** 52, 2 ** 63, 0x800) },
      ),
      len: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 256 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 16, 32, 48, 0xffffffff) }),
      flags: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, R, W, R | W, I) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
      next: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: entries - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
    });
  const caseArb = fc.integer({ min: 0, max: 4 }).chain((logSize) => {
    const size = 1 << logSize;
    return fc.record({
      size: fc.constant(size),
      table: fc.array(descArb(size), { minLength: size, maxLength: size }),
      indirectTable: fc.array(descArb(8), { minLength: 8, maxLength: 8 }),
      heads: fc.array(fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: size - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }), { minLength: 1, maxLength: size }),
      eventIdx: fc.boolean(),
      indirect: fc.boolean(),
    });
  });

  fuzzTest('accepts exactly the well-formed chains and never touches memory it may not', 6_000, 1_000_000, (numRuns) => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(caseArb, ({ size, table, indirectTable, heads, eventIdx, indirect }) => {
        const mem = new SharedArrayBuffer(MEMSZ);
        const bytes = new Uint8Array(mem);
        const l = virtqLayout(size);
        const raw = new RawRing(mem, size, 0, l.avail.offset, l.used.offset);
        table.forEach((d, i) => raw.desc(i, d.addr, d.len, d.flags, d.next));
        indirectTable.forEach((d, i) => raw.desc(i, d.addr, d.len, d.flags, d.next, 0x800));
        raw.publish(heads);
        const q = new VirtqueueDevice(mem, { size, descAddr: 0, driverAddr: l.avail.offset, deviceAddr: l.used.offset, eventIdx, indirect });
        const allowed: Region[] = [{ start: l.used.offset, end: l.totalSize }];
        const before = bytes.slice();
        const scratch = new Uint8Array(64);
        let r = 0;
        for (let k = 0; ; k++) {
          // Differential check: an independent reading of 2.7.5 / 2.7.5.3 on memory as it is now
          // (earlier chains' writable buffers may have overwritten descriptors).
          const expectOk = k < heads.length && referenceChainOk(bytes.slice(), size, indirect, heads[k]!);
          r = q.pop();
          if (k === heads.length) {
            if (r !== VIRTQ_EMPTY) throw new Error(`pop after the last head returned ${r}`);
            break;
          }
          if (!expectOk) {
            if (r >= -1) throw new Error(`head ${heads[k]} (#${k}) popped as ${r}, the reference rejects it`);
            break;
          }
          if (r !== heads[k]) throw new Error(`head ${heads[k]} (#${k}) rejected (${r}: ${q.error}), the reference accepts it`);
          const c = q.chain;
          for (let i = c.readableCount; i < c.count; i++) allowed.push({ start: c.segmentAddress(i), end: c.segmentAddress(i) + c.segmentLength(i) });
          c.read(scratch);
          q.pushUsed(r, c.write(scratch));
        }
        q.flush();
        assertOnlyAllowedWrites(before, bytes, allowed);
        if (r === VIRTQ_EMPTY) accepted++;
        else rejected++;
      }),
      { numRuns },
    );
    // Both outcomes must be common, or the generator is not testing anything.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});

/** Reference validator: reads descriptors with BigInt addresses straight from a byte snapshot (queue at 0). */
function referenceChainOk(mem: Uint8Array, size: number, indirectOk: boolean, head: number): boolean {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const limit = BigInt(mem.length);
  if (head >= size) return false;
  let table = 0n;
  let entries = size;
  let idx = head;
  let buffers = 0;
  let total = 0n;
  let writableSeen = false;
  let nested = false;
  while (true) {
    const at = Number(table) + idx * 16;
    const addr = dv.getBigUint64(at, true);
    const len = BigInt(dv.getUint32(at + 8, true));
    const flags = dv.getUint16(at + 12, true);
    if (flags & I) {
      if (!indirectOk || nested || flags & R || len === 0n || len % 16n !== 0n || addr + len > limit) return false;
      [table, entries, idx, nested] = [addr, Number(len / 16n), 0, true];
      continue;
    }
    if (++buffers > size || len === 0n || addr + len > limit) return false;
    const writable = (flags & W) !== 0;
    if (!writable && writableSeen) return false;
    writableSeen ||= writable;
    total += len;
    if (total > 0xffffffffn) return false;
    if (!(flags & R)) return true;
    idx = dv.getUint16(at + 14, true);
    if (idx >= entries) return false;
  }
}
