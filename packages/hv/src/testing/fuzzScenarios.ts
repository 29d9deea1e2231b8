/**
 * Test support for devices.fuzz.test.ts: one scenario per device type —
 * how to build the device, which features and queues a guest sets up, what a
 * random (plausible or absurd) request looks like, which host-side events
 * can happen meanwhile (I/O completing out of order, frames arriving, links
 * flapping, console input), and a liveness check that a well-formed request
 * works again after the guest resets the device.
 *
 * Guest memory layout: [0, CANARY_END) is never referenced by anything; the
 * rings are allocated from CANARY_END; queues that random register writes
 * place go in [PLAYGROUND, RING_END); the request pool [POOL, FUZZ_MEM) is
 * the end of memory, so a buffer starting in the pool can reach nothing but
 * the pool or beyond memory, whatever its length.
 */
import type { Readable } from 'node:stream';
import fc from 'fast-check';
import {
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_NET_F_CSUM,
  VIRTIO_NET_F_HOST_TSO4,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_TCPV4,
  featureBit,
} from '@osv-ts/virtio';
import type { VirtqueueDriver } from '@osv-ts/virtio/driver';
import { createBlockDevice, type BlockModel } from '../devices/blockDevice.js';
import { ConsoleDevice } from '../devices/consoleDevice.js';
import { createEntropyDevice, type EntropyModel } from '../devices/entropyDevice.js';
import { createNetDevice, type NetModel } from '../devices/netDevice.js';
import type { DeviceWiring } from '../devices/virtioMmioDevice.js';
import type { MmioDevice } from '../mmioBus.js';
import { FakeNetBackend } from './fakeNetBackend.js';
import type { DeviceHarness } from './deviceHarness.js';
import { MemoryBlockBackend } from './memoryBlockBackend.js';

/** Guest memory of a fuzz run, bytes. */
export const FUZZ_MEM = 0x40000;
/** [0, CANARY_END) is never referenced. */
export const CANARY_END = 0x4000;
/** Rings live in [CANARY_END, RING_END). */
export const RING_END = 0x20000;
/** Where random register writes may place queues: [PLAYGROUND, RING_END). */
export const PLAYGROUND = RING_END - 0x8000;
/** Request buffers: [POOL, FUZZ_MEM). */
export const POOL = RING_END;
const POOL_SIZE = FUZZ_MEM - POOL;

/** One segment of a request chain, in the pool. */
export interface SegSpec {
  readonly off: number;
  readonly len: number;
  readonly writable: boolean;
}

/** A guest request: its queue (index into the scenario's queues), segments, bytes at the start of the first segment. */
export interface RequestSpec {
  readonly q: number;
  readonly segs: readonly SegSpec[];
  readonly bytes: readonly number[];
  readonly kick: boolean;
}

/** A host-side event. */
export type HostEvent =
  | { readonly t: 'complete'; readonly pick: number }
  | { readonly t: 'completeAll' }
  | { readonly t: 'fail'; readonly on: boolean }
  | { readonly t: 'frame'; readonly len: number; readonly byte: number }
  | { readonly t: 'link'; readonly up: boolean }
  | { readonly t: 'congest'; readonly on: boolean }
  | { readonly t: 'input'; readonly bytes: readonly number[] }
  | { readonly t: 'none' };

/** A device type under fuzzing. */
export interface Scenario {
  readonly name: string;
  readonly features: bigint;
  /** Queue indices the guest sets up. */
  readonly queues: readonly number[];
  readonly request: fc.Arbitrary<RequestSpec>;
  readonly hostEvent: fc.Arbitrary<HostEvent>;
  make(w: DeviceWiring): MmioDevice;
  host(e: HostEvent): void;
  /** Completes everything pending on the host side. */
  settle(): Promise<void>;
  /** With the device freshly initialised: null when a well-formed request works, else what went wrong. */
  check(h: DeviceHarness, vqs: readonly VirtqueueDriver[]): Promise<string | null>;
  /** Adds what this run reached (completions by status, drops, resets...) to `into`, so a test can insist every path was reached. */
  tally(into: Map<string, number>, h: DeviceHarness): void;
}

function add(into: Map<string, number>, key: string, n: number): void {
  into.set(key, (into.get(key) ?? 0) + n);
}

/** Counts DEVICE_NEEDS_RESET episodes in a run's log. */
function resets(h: DeviceHarness): number {
  return h.logs.filter((l) => l.includes('device needs reset')).length;
}

/** Places `len` bytes at pool offset `off`, clamped so it ends inside the pool. */
function seg(off: number, len: number, writable: boolean): SegSpec {
  const l = Math.max(1, Math.min(len, POOL_SIZE));
  return { off: Math.min(off, POOL_SIZE - l), len: l, writable };
}

const offs = fc.array(fc.nat(POOL_SIZE - 1), { minLength: 6, maxLength: 6 });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Submits a well-formed chain and kicks; returns the pool address of each segment. */
export function submitChain(h: DeviceHarness, vq: VirtqueueDriver, index: number, segs: readonly SegSpec[], bytes: readonly number[] = []): number {
  for (let t; (t = vq.getUsed()) >= 0; );
  vq.begin();
  for (const s of segs) vq.push(POOL + s.off, s.len, s.writable);
  const head = vq.commit(1);
  if (head >= 0 && segs[0]) for (let i = 0; i < bytes.length && i < segs[0].len; i++) h.mem[POOL + segs[0].off + i] = bytes[i]!;
  h.driver.kick(index);
  return head;
}

/** Collects used chains until one arrives (host events may be needed first); returns its used length or -1. */
function usedLength(vq: VirtqueueDriver): number {
  const t = vq.getUsed();
  return t >= 0 ? vq.usedLength : -1;
}

function le(value: bigint, bytes: number): number[] {
  return Array.from({ length: bytes }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));
}

/** virtio-blk over an in-memory disk, completions deferred or immediate. */
export function blockScenario(deferred: boolean): Scenario {
  const disk = new MemoryBlockBackend(64 * 1024, true, 'fuzz-disk', deferred ? 'deferred' : 'immediate');
  let model: BlockModel | undefined;
  let ok = 0;
  const request = fc
    .record({
      type: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1, 4, 8, 11, 13, 2, 10, 14) }, { weight: 1, arbitrary: fc.nat() }),
      sector: fc.oneof({ weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 140n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
      hdrLen: fc.oneof({ weight: 30, arbitrary: fc.constant(16) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) }),
      dataLen: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 16 }).map((k) => k * 512) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 9000 }) }),
      split: fc.integer({ min: 1, max: 3 }),
      dataWritable: fc.boolean(),
      segments: fc.array(fc.record({ sector: fc.nat(140), n: fc.integer({ min: 0, max: 40 }), flags: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.nat() }) }), { maxLength: 3 }),
      statusLen: fc.oneof({ weight: 30, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) }),
      extra: fc.array(fc.nat(255), { maxLength: 48 }),
      offs,
      kick: fc.boolean(),
    })
    .map((r): RequestSpec => {
      const segs: SegSpec[] = [seg(r.offs[0]!, r.hdrLen, false)];
      const part = Math.ceil(r.dataLen / r.split);
      for (let i = 0; i < r.split && r.dataLen > 0; i++) segs.push(seg(r.offs[1 + i]!, Math.min(part, r.dataLen - i * part) || 1, r.dataWritable));
      if (r.statusLen > 0) segs.push(seg(r.offs[5]!, r.statusLen, true));
      segs.sort((a, b) => Number(a.writable) - Number(b.writable));
      // DISCARD and WRITE_ZEROES read segments right after the header: plausible ones, then noise.
      const ranges = r.segments.flatMap((g) => [...le(BigInt(g.sector), 8), ...le(BigInt(g.n), 4), ...le(BigInt(g.flags), 4)]);
      return { q: 0, segs, bytes: [...le(BigInt(r.type), 4), 0, 0, 0, 0, ...le(r.sector, 8), ...ranges, ...r.extra], kick: r.kick };
    });
  return {
    name: deferred ? 'block (deferred completions)' : 'block',
    features: featureBit(VIRTIO_BLK_F_FLUSH) | featureBit(VIRTIO_BLK_F_DISCARD) | featureBit(VIRTIO_BLK_F_WRITE_ZEROES),
    queues: [0],
    request,
    hostEvent: fc.oneof(
      fc.record({ t: fc.constant('complete' as const), pick: fc.nat() }),
      fc.constant({ t: 'completeAll' as const }),
      fc.record({ t: fc.constant('fail' as const), on: fc.boolean() }),
    ),
    make(w) {
      const m = createBlockDevice(disk, w);
      model = m.model;
      return m.device;
    },
    host(e) {
      if (e.t === 'complete' && disk.waiting > 0) disk.completeOne(e.pick % disk.waiting);
      else if (e.t === 'completeAll') disk.completeAllReversed();
      else if (e.t === 'fail') disk.failWith = e.on ? 'EIO' : null;
    },
    async settle() {
      disk.failWith = null;
      disk.completeAllReversed();
      await tick();
      await model?.quiesce();
    },
    async check(h, vqs) {
      const vq = vqs[0]!;
      const head = submitChain(h, vq, 0, [seg(0, 16, false), seg(64, 20, true), seg(128, 1, true)], [...le(BigInt(VIRTIO_BLK_T_GET_ID), 4)]);
      if (head < 0) return `GET_ID could not be queued (${head})`;
      disk.completeAllReversed();
      await tick();
      const len = usedLength(vq);
      const id = Buffer.from(h.mem.subarray(POOL + 64, POOL + 73)).toString('latin1');
      if (len !== 21 || h.mem[POOL + 128] !== 0 || id !== 'fuzz-disk') return `GET_ID answered len ${len}, status ${h.mem[POOL + 128]}, id '${id}'`;
      return null;
    },
    tally(into, h) {
      const st = model?.stats;
      if (!st) return;
      ok += st.requests - st.ioErrors - st.unsupported;
      add(into, 'requests', st.requests);
      add(into, 'IOERR', st.ioErrors);
      add(into, 'UNSUPP', st.unsupported);
      add(into, 'DEVICE_NEEDS_RESET', resets(h));
      add(into, 'disk writes', disk.writes);
      add(into, 'not IOERR or UNSUPP', ok);
    },
  };
}

/** virtio-rng. */
export function entropyScenario(): Scenario {
  let model: EntropyModel | undefined;
  return {
    name: 'entropy',
    features: 0n,
    queues: [0],
    request: fc
      .record({ lens: fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 3 }), readable: fc.boolean(), offs, kick: fc.boolean() })
      .map((r) => ({
        q: 0,
        segs: [...(r.readable ? [seg(r.offs[5]!, 32, false)] : []), ...r.lens.map((l, i) => seg(r.offs[i]!, l, true))],
        bytes: [],
        kick: r.kick,
      })),
    hostEvent: fc.constant({ t: 'none' as const }),
    make(w) {
      const m = createEntropyDevice(w);
      model = m.model;
      return m.device;
    },
    host() {},
    settle: () => Promise.resolve(),
    async check(h, vqs) {
      const vq = vqs[0]!;
      h.mem.fill(0, POOL, POOL + 64);
      if (submitChain(h, vq, 0, [seg(0, 64, true)]) < 0) return 'request could not be queued';
      const len = usedLength(vq);
      return len === 64 && h.mem.subarray(POOL, POOL + 64).some((b) => b !== 0) ? null : `entropy request answered with length ${len}`;
    },
    tally(into, h) {
      add(into, 'random bytes', model?.bytesServed ?? 0);
      add(into, 'DEVICE_NEEDS_RESET', resets(h));
    },
  };
}

/** A number as two little-endian bytes (virtio's le16). */
const le16 = (v: number): number[] => [v & 0xff, v >>> 8];

/**
 * A GSO TCP/IPv4 transmit request as a guest with HOST_TSO4 makes it
 * (virtio_net_hdr then Ethernet, IPv4, TCP with 12 option bytes, payload),
 * with one byte of the virtio header or of the frame's headers replaced by
 * `value` when `mutate` ≥ 0: plausible enough that many reach segmentation,
 * wrong in every field a hostile guest controls often enough that each of
 * the device's checks fires.
 */
function gsoRequestBytes(payload: number, mss: number, mutate: number, value: number): number[] {
  const ipLen = 20 + 32 + payload;
  const frame = [
    0x52, 0x55, 10, 0, 2, 2, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x00,
    0x45, 0, ipLen >>> 8, ipLen & 0xff, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2,
    0x9c, 0x40, 0, 80, 1, 2, 3, 4, 0, 0, 0, 0, 0x80, 0x19, 0xff, 0xff, 0, 0, 0, 0,
    1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
  ];
  const bytes = [VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, ...le16(frame.length), ...le16(mss), ...le16(34), ...le16(16), 0, 0, ...frame];
  for (let i = 0; i < payload; i++) bytes.push((i * 7) & 0xff);
  if (mutate >= 0) bytes[mutate] = value & 0xff;
  return bytes;
}

/**
 * virtio-net with a scripted backend; CSUM negotiated, offload fields random
 * and often absurd. With `mergeable`, VIRTIO_NET_F_MRG_RXBUF is negotiated
 * too, so received frames spread over the guest's odd receive chains (tiny,
 * smaller than the header, partly device-readable).
 */
export function netScenario(mergeable = false): Scenario {
  const backend = new FakeNetBackend();
  let model: NetModel | undefined;
  const rare = (n: number): fc.Arbitrary<number> => fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(n) });
  const frameArb = fc.record({
    hdr: fc.oneof({ weight: 15, arbitrary: fc.constant(12) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 20 }) }),
    len: fc.integer({ min: 0, max: 2000 }),
    split: fc.boolean(),
    // NEEDS_CSUM often, so the device's range checks of csum_start/csum_offset get exercised.
    flags: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.nat(255) }),
    gso: rare(255),
    hdrLen: rare(65535),
    gsoSize: rare(65535),
    csumStart: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 2100 }) }, { weight: 1, arbitrary: fc.nat(65535) }),
    csumOffset: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.nat(65535) }),
    offs,
    kick: fc.boolean(),
  });
  // Receive buffers of every size, with tiny ones (below and around the 12-byte header) often enough to matter.
  const rxLen = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 2000 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) });
  const rxArb = fc.record({ lens: fc.array(rxLen, { minLength: 1, maxLength: 2 }), readable: fc.boolean(), offs, kick: fc.boolean() });
  // HOST_TSO4 requests: mostly plausible, one header byte often replaced, the chain sometimes shorter or longer than the IPv4 length says.
  const gsoArb = fc.record({
    payload: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 6000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 - 52 }) }),
    mss: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 200, max: 1448 }) }, { weight: 1, arbitrary: fc.nat(65535) }),
    mutate: fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 3, arbitrary: fc.nat(12 + 66 - 1) }),
    value: fc.nat(255),
    cut: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -100, max: 100 }) }),
    offs,
    kick: fc.boolean(),
  });
  return {
    name: mergeable ? 'net (mergeable receive buffers)' : 'net',
    features: featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU) | featureBit(VIRTIO_NET_F_CSUM) | featureBit(VIRTIO_NET_F_HOST_TSO4) | (mergeable ? featureBit(VIRTIO_NET_F_MRG_RXBUF) : 0n),
    queues: [0, 1],
    request: fc.oneof(
      frameArb.map((r) => ({
        q: 1,
        segs: r.split && r.len > 0 ? [seg(r.offs[0]!, r.hdr, false), seg(r.offs[1]!, r.len, false)] : [seg(r.offs[0]!, r.hdr + r.len, false)],
        bytes: [r.flags, r.gso, ...le16(r.hdrLen), ...le16(r.gsoSize), ...le16(r.csumStart), ...le16(r.csumOffset)],
        kick: r.kick,
      })),
      rxArb.map((r) => ({ q: 0, segs: [...(r.readable ? [seg(r.offs[5]!, 12, false)] : []), ...r.lens.map((l, i) => seg(r.offs[i]!, l, true))], bytes: [], kick: r.kick })),
      gsoArb.map((r) => {
        const bytes = gsoRequestBytes(r.payload, r.mss, r.mutate, r.value);
        return { q: 1, segs: [seg(r.offs[0]!, Math.max(1, bytes.length + r.cut), false)], bytes, kick: r.kick };
      }),
    ),
    hostEvent: fc.oneof(
      fc.record({ t: fc.constant('frame' as const), len: fc.integer({ min: 0, max: 2000 }), byte: fc.nat(255) }),
      fc.record({ t: fc.constant('link' as const), up: fc.boolean() }),
      fc.record({ t: fc.constant('congest' as const), on: fc.boolean() }),
    ),
    make(w) {
      const m = createNetDevice(backend, w, { mac: Uint8Array.of(0x52, 0x54, 0, 0, 0, 1) });
      model = m.model;
      return m.device;
    },
    host(e) {
      if (e.t === 'frame') backend.inject(new Uint8Array(e.len).fill(e.byte));
      else if (e.t === 'link') backend.setLink(e.up);
      else if (e.t === 'congest') {
        if (e.on) backend.congested = true;
        else backend.drain();
      }
    },
    settle: () => Promise.resolve(),
    async check(h, vqs) {
      backend.setLink(true);
      backend.drain();
      backend.sent.length = 0;
      h.mem.fill(0, POOL, POOL + 12);
      h.mem.fill(0x77, POOL + 12, POOL + 72);
      if (submitChain(h, vqs[1]!, 1, [seg(0, 72, false)]) < 0) return 'frame could not be queued';
      const sent = backend.sent.map((f) => f.length);
      return sent.length === 1 && sent[0] === 60 ? null : `the backend got frames of ${JSON.stringify(sent)} bytes`;
    },
    tally(into, h) {
      const st = model?.stats;
      if (!st) return;
      add(into, 'frames sent', st.txFrames);
      add(into, 'frames dropped on transmit', st.txDropped);
      add(into, 'frames received', st.rxFrames);
      add(into, 'frames dropped on receive', st.rxDropped);
      if (mergeable) add(into, 'frames spread over several receive chains', st.rxMerged);
      add(into, 'checksums filled in (NEEDS_CSUM)', st.txChecksummed);
      add(into, 'frames dropped for bad offload metadata', st.txBadOffload);
      add(into, 'GSO frames segmented (HOST_TSO4)', st.txTso);
      add(into, 'DEVICE_NEEDS_RESET', resets(h));
    },
  };
}

/** virtio-console with scripted host input. */
export function consoleScenario(): Scenario {
  const out: Uint8Array[] = [];
  let onData: ((b: Buffer) => void) | null = null;
  const input = {
    on: (_: string, f: (b: Buffer) => void) => void (onData = f),
    off: () => void (onData = null),
    pause: () => {},
  } as unknown as Readable;
  const bufArb = fc.record({ lens: fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 2 }), offs, kick: fc.boolean(), text: fc.array(fc.nat(255), { maxLength: 16 }) });
  return {
    name: 'console',
    features: 0n,
    queues: [0, 1],
    request: fc.oneof(
      bufArb.map((r) => ({ q: 1, segs: r.lens.map((l, i) => seg(r.offs[i]!, l, false)), bytes: r.text, kick: r.kick })),
      bufArb.map((r) => ({ q: 0, segs: r.lens.map((l, i) => seg(r.offs[i]!, l, true)), bytes: [], kick: r.kick })),
    ),
    hostEvent: fc.record({ t: fc.constant('input' as const), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 300 }) }),
    make: (w) => new ConsoleDevice(w.memory, w.raiseIrq, (b) => void out.push(b), input, w.log),
    host(e) {
      if (e.t === 'input') onData?.(Buffer.from(e.bytes));
    },
    settle: () => Promise.resolve(),
    async check(h, vqs) {
      out.length = 0;
      h.mem.set(Buffer.from('alive'), POOL);
      if (submitChain(h, vqs[1]!, 1, [seg(0, 5, false)]) < 0) return 'output could not be queued';
      const text = Buffer.concat(out).toString('latin1');
      return text === 'alive' ? null : `console wrote '${text}'`;
    },
    tally(into, h) {
      add(into, 'output chunks', out.length);
      add(into, 'DEVICE_NEEDS_RESET', resets(h));
    },
  };
}
