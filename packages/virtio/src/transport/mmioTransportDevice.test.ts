/**
 * The device-side register file against a hostile driver: every rule of
 * 4.2.2 / 4.2.3 / 2.1 by hand, then random register traffic with fast-check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { featureBit, featureWord, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1 } from '../core/features.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE as ACK,
  VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET as NEEDS_RESET,
  VIRTIO_CONFIG_S_DRIVER as DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK as DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK as FEATURES_OK,
} from '../core/status.js';
import { EchoModel } from '../internal/testing/echoModel.js';
import { fuzzTest } from '../internal/testing/soak.js';
import { virtqLayout } from '../ring/virtqLayout.js';
import { VIRTIO_MMIO_INT_CONFIG, VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_LAYOUT as R, VIRTIO_MMIO_MAGIC_VALUE } from './mmioLayout.js';
import { MMIO_LOG_LIMIT, MmioTransportDevice } from './mmioTransportDevice.js';

const VERSION_1_HI = featureWord(featureBit(VIRTIO_F_VERSION_1), 1);

function setup(model = new EchoModel({ features: featureBit(1) })) {
  const mem = new SharedArrayBuffer(0x10000);
  const logs: string[] = [];
  let irqs = 0;
  const t = new MmioTransportDevice(mem, model, { raiseInterrupt: () => irqs++, log: (m) => logs.push(m) });
  const w = (reg: { offset: number }, v: number) => t.write(reg.offset, 4, v);
  const r = (reg: { offset: number }) => t.read(reg.offset, 4);
  return { mem, t, model, logs, w, r, irqs: () => irqs };
}

/** Drives a device up to FEATURES_OK with `features` (lo, hi words). */
function negotiate(s: ReturnType<typeof setup>, lo = 0, hi = VERSION_1_HI): void {
  s.w(R.Status, ACK);
  s.w(R.Status, ACK | DRIVER);
  s.w(R.DriverFeaturesSel, 0);
  s.w(R.DriverFeatures, lo);
  s.w(R.DriverFeaturesSel, 1);
  s.w(R.DriverFeatures, hi);
  s.w(R.Status, ACK | DRIVER | FEATURES_OK);
}

/** Queue q at `base` in memory, laid out contiguously, size n. */
function queueAt(s: ReturnType<typeof setup>, q: number, base: number, n: number): void {
  const l = virtqLayout(n);
  s.w(R.QueueSel, q);
  s.w(R.QueueNum, n);
  s.w(R.QueueDescLow, base);
  s.w(R.QueueDescHigh, 0);
  s.w(R.QueueDriverLow, base + l.avail.offset);
  s.w(R.QueueDriverHigh, 0);
  s.w(R.QueueDeviceLow, base + l.used.offset);
  s.w(R.QueueDeviceHigh, 0);
  s.w(R.QueueReady, 1);
}

describe('MmioTransportDevice registers (virtio-v1.2 4.2.2)', () => {
  it('identifies itself and reports 64 feature bits through DeviceFeaturesSel', () => {
    const s = setup();
    expect([s.r(R.MagicValue), s.r(R.Version), s.r(R.DeviceID), s.r(R.VendorID)]).toEqual([VIRTIO_MMIO_MAGIC_VALUE, 2, 0x7f, 0x5456534f]);
    expect(s.r(R.DeviceFeatures)).toBe((2 | (1 << VIRTIO_F_INDIRECT_DESC) | (1 << VIRTIO_F_EVENT_IDX)) >>> 0);
    s.w(R.DeviceFeaturesSel, 1);
    expect(s.r(R.DeviceFeatures)).toBe(VERSION_1_HI);
    s.w(R.DeviceFeaturesSel, 7);
    expect(s.r(R.DeviceFeatures)).toBe(0);
    expect([s.r(R.SHMLenLow), s.r(R.SHMLenHigh), s.r(R.QueueReset), s.r(R.ConfigGeneration)]).toEqual([0xffffffff, 0xffffffff, 0, 0]);
    expect(s.logs).toEqual([]);
  });

  it('offers only VERSION_1 on top of the model when ring features are turned off', () => {
    const t = new MmioTransportDevice(new SharedArrayBuffer(64), new EchoModel(), { raiseInterrupt() {}, log() {} }, { ringFeatures: 0n });
    expect(t.deviceFeatures).toBe(featureBit(VIRTIO_F_VERSION_1));
  });

  it('ignores and logs wrong sizes, misaligned and unknown offsets, and writes to read-only registers', () => {
    const s = setup();
    expect(s.t.read(R.MagicValue.offset, 2)).toBe(0);
    expect(s.t.read(R.Version.offset + 1, 4)).toBe(0);
    expect(s.t.read(0x1000, 4)).toBe(0);
    expect(s.t.read(-4, 4)).toBe(0);
    expect(s.t.read(0x18, 4)).toBe(0); // reserved
    expect(s.t.read(R.QueueSel.offset, 4)).toBe(0); // write-only
    s.t.write(R.Status.offset, 1, ACK);
    expect(s.r(R.Status)).toBe(0);
    s.w(R.MagicValue, 0);
    s.w(R.InterruptStatus, 0);
    s.t.write(0xfff, 4, 0);
    expect(s.r(R.MagicValue)).toBe(VIRTIO_MMIO_MAGIC_VALUE);
    expect(s.logs).toHaveLength(10);
  });

  it('walks the status state machine: bits only added, FEATURES_OK checked, DRIVER_OK after FEATURES_OK, 0 resets', () => {
    const s = setup();
    s.w(R.Status, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
    expect(s.r(R.Status)).toBe(ACK | DRIVER); // FEATURES_OK refused (VERSION_1 not accepted), so DRIVER_OK too
    s.w(R.Status, ACK);
    expect(s.r(R.Status)).toBe(ACK | DRIVER); // clearing is not allowed
    s.w(R.DriverFeaturesSel, 1);
    s.w(R.DriverFeatures, VERSION_1_HI);
    s.w(R.DriverFeaturesSel, 0);
    s.w(R.DriverFeatures, 1 << 5); // not offered
    s.w(R.Status, ACK | DRIVER | FEATURES_OK);
    expect(s.r(R.Status) & FEATURES_OK).toBe(0);
    expect(s.logs.some((l) => /did not offer/.test(l))).toBe(true);
    s.w(R.DriverFeatures, 2 | (1 << VIRTIO_F_EVENT_IDX));
    s.w(R.Status, ACK | DRIVER | FEATURES_OK);
    expect(s.r(R.Status)).toBe(ACK | DRIVER | FEATURES_OK);
    expect(s.t.driverFeatures).toBe(featureBit(1) | featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_F_VERSION_1));
    s.w(R.DriverFeatures, 0); // after FEATURES_OK: ignored
    expect(s.t.hasFeature(1)).toBe(true);
    s.w(R.Status, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
    expect(s.r(R.Status)).toBe(ACK | DRIVER | FEATURES_OK | DRIVER_OK);
    s.w(R.Status, 0);
    expect([s.r(R.Status), s.model.resets, s.t.driverFeatures]).toEqual([0, 1, 0n]);
  });

  it('refuses FEATURES_OK before ACKNOWLEDGE and DRIVER, and legacy drivers', () => {
    const s = setup();
    s.w(R.DriverFeaturesSel, 1);
    s.w(R.DriverFeatures, VERSION_1_HI);
    s.w(R.Status, FEATURES_OK);
    expect(s.r(R.Status)).toBe(0);
    const legacy = setup();
    negotiate(legacy, 0, 0);
    expect(legacy.r(R.Status)).toBe(ACK | DRIVER);
    expect(legacy.logs.some((l) => /VERSION_1/.test(l))).toBe(true);
  });

  it('validates queue setup: existence, QueueNum, timing, ring placement', () => {
    const s = setup(new EchoModel({ queueCount: 2, queueMax: 64 }));
    s.w(R.QueueSel, 5);
    expect([s.r(R.QueueNumMax), s.r(R.QueueReady)]).toEqual([0, 0]);
    s.w(R.QueueSel, 0);
    expect(s.r(R.QueueNumMax)).toBe(64);
    queueAt(s, 0, 0x1000, 16); // before FEATURES_OK: refused
    expect(s.r(R.QueueReady)).toBe(0);
    negotiate(s);
    s.w(R.QueueNum, 48); // not a power of two
    s.w(R.QueueNum, 128); // above QueueNumMax
    expect(s.logs.filter((l) => /QueueNum/.test(l))).toHaveLength(2);
    queueAt(s, 0, 0x1000, 16);
    expect(s.r(R.QueueReady)).toBe(1);
    expect(s.t.queue(0)?.size).toBe(16);
    s.w(R.QueueNum, 8); // while ready
    expect(s.t.queue(0)?.size).toBe(16);
    s.w(R.QueueReady, 0);
    expect(s.t.queue(0)).toBeNull();
    queueAt(s, 0, 0x1000, 16);
    s.w(R.Status, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
    queueAt(s, 1, 0x3000, 16); // after DRIVER_OK
    expect(s.t.queue(1)).toBeNull();
    expect(s.logs.some((l) => /after DRIVER_OK/.test(l))).toBe(true);
    const far = setup();
    negotiate(far);
    far.w(R.QueueSel, 0);
    far.w(R.QueueDescHigh, 1); // 2^32: outside memory
    far.w(R.QueueReady, 1);
    expect(far.r(R.QueueReady)).toBe(0);
    expect(far.r(R.Status) & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(far.irqs()).toBe(0); // not DRIVER_OK yet: no notification
  });

  it('notifies the model only after DRIVER_OK, and interrupts through InterruptStatus/InterruptACK', () => {
    const s = setup();
    negotiate(s);
    queueAt(s, 0, 0x1000, 8);
    s.w(R.QueueNotify, 0);
    expect(s.model.notifies).toBe(0);
    s.w(R.Status, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
    s.w(R.QueueNotify, 1); // not ready
    expect(s.model.notifies).toBe(0);
    const dv = new DataView(s.mem);
    const l = virtqLayout(8);
    dv.setUint32(0x1000, 0x8000, true); // desc 0: 0x8000, 4 bytes, writable
    dv.setUint32(0x1008, 4, true);
    dv.setUint16(0x100c, 2, true);
    dv.setUint16(0x1000 + l.avail.offset + 2, 1, true);
    s.w(R.QueueNotify, 0);
    expect([s.model.notifies, s.model.popped, s.irqs(), s.r(R.InterruptStatus)]).toEqual([1, 1, 1, VIRTIO_MMIO_INT_VRING]);
    s.t.configChanged();
    expect([s.r(R.InterruptStatus), s.r(R.ConfigGeneration), s.irqs()]).toEqual([VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG, 1, 2]);
    s.w(R.InterruptACK, VIRTIO_MMIO_INT_VRING);
    expect(s.r(R.InterruptStatus)).toBe(VIRTIO_MMIO_INT_CONFIG);
    s.w(R.InterruptACK, 0xffffffff);
    expect(s.r(R.InterruptStatus)).toBe(0);
  });

  it('detaches queues on reset so late completions cannot write guest memory', () => {
    const s = setup();
    negotiate(s);
    queueAt(s, 0, 0x1000, 8);
    const q = s.t.queue(0)!;
    s.w(R.Status, 0);
    expect(q.isDetached).toBe(true);
    expect(q.pushUsed(0, 1)).toBeLessThan(0);
    expect(s.t.queue(0)).toBeNull();
  });

  it('serves configuration space at 1, 2 and 4 bytes, naturally aligned and within its size', () => {
    const s = setup();
    s.model.config.set([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(s.t.read(0x100, 4)).toBe(0x04030201);
    expect(s.t.read(0x102, 2)).toBe(0x0403);
    expect(s.t.read(0x107, 1)).toBe(8);
    expect(s.t.read(0x101, 2)).toBe(0); // misaligned
    expect(s.t.read(0x10e, 4)).toBe(0); // misaligned and past 16 bytes
    expect(s.t.read(0x110, 1)).toBe(0); // past configSize
    s.t.write(0x104, 2, 0xabcd);
    expect(s.t.read(0x104, 2)).toBe(0xabcd);
    expect(s.logs).toHaveLength(3);
  });

  it('turns a throwing model into DEVICE_NEEDS_RESET instead of an exception', () => {
    const model = new EchoModel();
    model.configRead = () => {
      throw new Error('backend gone');
    };
    const s = setup(model);
    negotiate(s);
    s.w(R.Status, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
    expect(s.t.read(0x100, 4)).toBe(0);
    expect(s.r(R.Status) & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(s.r(R.InterruptStatus)).toBe(VIRTIO_MMIO_INT_CONFIG);
    expect(s.logs.at(-1)).toMatch(/device model failed: backend gone/);
    s.w(R.Status, 0);
    expect(s.r(R.Status)).toBe(0);
  });

  it(`caps logging at ${MMIO_LOG_LIMIT} lines per reset cycle`, () => {
    const s = setup();
    for (let i = 0; i < 500; i++) s.t.read(0x18, 4);
    expect(s.logs).toHaveLength(MMIO_LOG_LIMIT + 1);
    expect(s.logs.at(-1)).toMatch(/suppressed/);
    s.w(R.Status, 0);
    s.t.read(0x18, 4);
    expect(s.logs).toHaveLength(MMIO_LOG_LIMIT + 2);
  });
});

// ---- fuzzing ------------------------------------------------------------------------------

const REGISTER_OFFSETS = Object.entries(R)
  .filter(([k]) => k !== 'SIZE')
  .map(([, f]) => (f as { offset: number }).offset);

type Op =
  | { kind: 'write' | 'read'; offset: number; size: number; value: number }
  | { kind: 'init'; lo: number; hi: number }
  | { kind: 'queue'; q: number; base: number; logSize: number }
  | { kind: 'driverOk' }
  | { kind: 'boot'; logSize: number }
  | { kind: 'notify'; q: number }
  | { kind: 'garbage'; at: number; seed: number; length: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('write' as const, 'read' as const),
      offset: fc.oneof(fc.constantFrom(...REGISTER_OFFSETS), fc.integer({ min: 0x100, max: 0x120 }), fc.integer({ min: -8, max: 0x1008 })),
      size: fc.constantFrom(4, 4, 4, 1, 2, 3, 8),
      value: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constantFrom(ACK, ACK | DRIVER, ACK | DRIVER | FEATURES_OK, 0x0f, 0xff, 1 << 31, 0x1000, 0x2000), fc.nat(), fc.integer()),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('init' as const),
      lo: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 1, 1 << VIRTIO_F_EVENT_IDX, 1 << VIRTIO_F_INDIRECT_DESC) }, { weight: 1, arbitrary: fc.nat() }),
      hi: fc.oneof({ weight: 3, arbitrary: fc.constant(VERSION_1_HI) }, { weight: 1, arbitrary: fc.nat() }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('queue' as const), q: fc.integer({ min: 0, max: 3 }), base: fc.oneof(fc.constantFrom(0x1000, 0x4000, 0x8000), fc.integer({ min: 0, max: 0x10000 })), logSize: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'driverOk' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('boot' as const), logSize: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('notify' as const), q: fc.integer({ min: 0, max: 3 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('garbage' as const),
      at: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0x1000, max: 0x1800 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
      seed: fc.integer(),
      length: fc.integer({ min: 1, max: 256 }),
    }),
  },
);

function apply(s: ReturnType<typeof setup>, op: Op, bytes: Uint8Array): void {
  switch (op.kind) {
    case 'write': return s.t.write(op.offset, op.size, op.value);
    case 'read': return void s.t.read(op.offset, op.size);
    case 'init': return negotiate(s, op.lo, op.hi);
    case 'queue': return queueAt(s, op.q, op.base, 1 << op.logSize);
    case 'driverOk': return s.w(R.Status, s.r(R.Status) | DRIVER_OK);
    case 'boot':
      s.w(R.Status, 0);
      negotiate(s, 1 << VIRTIO_F_EVENT_IDX);
      queueAt(s, 0, 0x1000, 1 << op.logSize);
      return s.w(R.Status, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
    case 'notify': return s.w(R.QueueNotify, op.q);
    case 'garbage': {
      let x = op.seed | 1;
      for (let i = 0; i < op.length && op.at + i < bytes.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[op.at + i] = x;
      }
    }
  }
}

describe('MmioTransportDevice fuzz (fast-check)', () => {
  fuzzTest('random register traffic never throws and keeps the state machine consistent', 4_000, 500_000, (numRuns) => {
    let reachedDriverOk = 0;
    let reachedNeedsReset = 0;
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40, size: 'max' }), (ops) => {
        const model = new EchoModel({ queueCount: 3, queueMax: 128, features: featureBit(0) | featureBit(50) });
        const s = setup(model);
        const bytes = new Uint8Array(s.mem);
        let logsAtReset = 0;
        const reset = model.reset.bind(model);
        model.reset = () => {
          reset();
          logsAtReset = s.logs.length;
        };
        let sawDriverOk = false;
        let sawNeedsReset = false;
        for (const op of ops) {
          apply(s, op, bytes);
          const st = s.t.deviceStatus;
          if (st & FEATURES_OK) {
            const f = s.t.driverFeatures;
            if ((f & ~s.t.deviceFeatures) !== 0n || (f & featureBit(VIRTIO_F_VERSION_1)) === 0n) throw new Error(`FEATURES_OK with bad set ${f}`);
          }
          if (st & DRIVER_OK && !(st & FEATURES_OK)) throw new Error('DRIVER_OK without FEATURES_OK');
          for (let q = 0; q < 3; q++) {
            const vq = s.t.queue(q);
            if (vq && !(st & FEATURES_OK)) throw new Error('a live queue without FEATURES_OK');
            if (vq?.error && !(st & NEEDS_RESET)) throw new Error(`queue ${q} broke (${vq.error}) without DEVICE_NEEDS_RESET`);
          }
          if (s.t.interruptStatus !== 0 && !(st & DRIVER_OK)) throw new Error('interrupt pending before DRIVER_OK');
          if (s.logs.length - logsAtReset > MMIO_LOG_LIMIT + 1) throw new Error('log flood');
          sawDriverOk ||= (st & DRIVER_OK) !== 0;
          sawNeedsReset ||= (st & NEEDS_RESET) !== 0;
        }
        if (sawDriverOk) reachedDriverOk++;
        if (sawNeedsReset) reachedNeedsReset++;
      }),
      { numRuns },
    );
    // The generator must reach the interesting states in a good share of runs, or this test proves little.
    expect(reachedDriverOk).toBeGreaterThan(numRuns / 10);
    expect(reachedNeedsReset).toBeGreaterThan(numRuns / 20);
  });

  fuzzTest('garbage in a live ring ends in DEVICE_NEEDS_RESET and a config interrupt, or in valid chains; never a hang', 4_000, 500_000, (numRuns) => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 7 }), fc.boolean(), (seed, logSize, eventIdx) => {
        const n = 1 << logSize;
        const s = setup(new EchoModel({ queueCount: 1, queueMax: 128 }));
        negotiate(s, eventIdx ? (1 << VIRTIO_F_EVENT_IDX) | (1 << VIRTIO_F_INDIRECT_DESC) : 1 << VIRTIO_F_INDIRECT_DESC);
        queueAt(s, 0, 0x1000, n);
        s.w(R.Status, ACK | DRIVER | FEATURES_OK | DRIVER_OK);
        apply(s, { kind: 'garbage', at: 0x1000, seed, length: virtqLayout(n).totalSize }, new Uint8Array(s.mem));
        s.w(R.QueueNotify, 0);
        const st = s.r(R.Status);
        if (s.model.errors > 0) {
          if (!(st & NEEDS_RESET) || !(s.r(R.InterruptStatus) & VIRTIO_MMIO_INT_CONFIG)) throw new Error('violation without needs-reset + config interrupt');
          if (!s.logs.some((l) => l.includes('needs reset'))) throw new Error('violation not logged');
        } else if (st & NEEDS_RESET) throw new Error('needs-reset without a violation');
        if (s.model.popped > n) throw new Error('popped more chains than the queue holds');
      }),
      { numRuns },
    );
  });
});
