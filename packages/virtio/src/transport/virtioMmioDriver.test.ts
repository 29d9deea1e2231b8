/**
 * The driver-side transport through a bus that forwards to the real device-side
 * transport, as the hv does with VM exits: initialization (3.1.1, 4.2.3),
 * refused features, config reads under a changing generation, interrupts,
 * DEVICE_NEEDS_RESET and re-initialization.
 */
import { describe, expect, it } from 'vitest';
import { featureBit, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_PACKED, VIRTIO_F_VERSION_1 } from '../core/features.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '../core/status.js';
import { BumpAllocator } from '../internal/testing/bumpAllocator.js';
import { EchoModel } from '../internal/testing/echoModel.js';
import { LoopbackBus } from '../internal/testing/loopbackBus.js';
import { VirtqueueDriver } from '../ring/virtqueueDriver.js';
import { VirtioError } from '../virtioError.js';
import { VIRTIO_MMIO_INT_CONFIG, VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_LAYOUT } from './mmioLayout.js';
import type { MmioBus } from './mmioBus.js';
import { MmioTransportDevice } from './mmioTransportDevice.js';
import { VirtioMmioDriver } from './virtioMmioDriver.js';

const BASE = 2 ** 40; // where the hv puts MMIO windows (abi.ts MMIO_BASE)

function machine(model = new EchoModel({ features: featureBit(3) | featureBit(40) })) {
  const mem = new SharedArrayBuffer(1 << 20);
  const logs: string[] = [];
  let interrupts = 0;
  const device = new MmioTransportDevice(mem, model, { raiseInterrupt: () => interrupts++, log: (m) => logs.push(m) });
  const bus = new LoopbackBus(BASE, device);
  const drv = new VirtioMmioDriver(bus, BASE);
  const dma = new BumpAllocator(mem.byteLength);
  return { mem, bytes: new Uint8Array(mem), model, device, bus, drv, dma, logs, interrupts: () => interrupts };
}

describe('VirtioMmioDriver over MmioTransportDevice', () => {
  it('runs the 3.1.1 initialization sequence and moves data', () => {
    const m = machine();
    expect(m.drv.probe()).toEqual({ deviceId: 0x7f, vendorId: 0x5456534f });
    const wanted = featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_F_INDIRECT_DESC) | featureBit(3) | featureBit(5) | featureBit(VIRTIO_F_RING_PACKED);
    const accepted = m.drv.negotiate(wanted);
    // bit 5 not offered, RING_PACKED not implemented, bit 40 offered but not wanted; VERSION_1 always
    expect(accepted).toBe(featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_F_INDIRECT_DESC) | featureBit(3) | featureBit(VIRTIO_F_VERSION_1));
    expect(m.device.driverFeatures).toBe(accepted);
    expect(m.device.deviceStatus).toBe(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    const q0 = m.drv.createQueue(0, m.mem, m.dma, { maxSize: 64 });
    const q1 = m.drv.createQueue(1, m.mem, m.dma, { maxSize: 1000 });
    expect([q0.size, q1.size, q0.eventIdx, q0.indirect]).toEqual([64, 256, true, true]);
    expect(m.device.queue(0)?.size).toBe(64);
    m.drv.driverOk();
    expect(m.device.deviceStatus & VIRTIO_CONFIG_S_DRIVER_OK).toBe(VIRTIO_CONFIG_S_DRIVER_OK);
    expect(m.logs).toEqual([]);

    const out = m.dma.alloc(16, 8);
    const inb = m.dma.alloc(16, 8);
    m.bytes.set([1, 2, 3], out);
    q0.begin();
    q0.push(out, 3, false);
    q0.push(inb, 16, true);
    expect(q0.commit(99)).toBeGreaterThanOrEqual(0);
    const writes = m.bus.writes;
    expect(m.drv.kick(0)).toBe(true); // one QueueNotify; the echo model serves it synchronously
    expect(m.bus.writes - writes).toBe(1);
    expect(m.interrupts()).toBe(1);
    const reads = m.bus.reads;
    expect(m.drv.ackInterrupt()).toBe(VIRTIO_MMIO_INT_VRING);
    expect(m.bus.reads - reads).toBe(1); // one exit to learn why
    expect(m.device.interruptStatus).toBe(0);
    expect(q0.getUsed()).toBe(99);
    expect([...m.bytes.subarray(inb, inb + 3)]).toEqual([2, 3, 4]);
    expect(m.drv.ackInterrupt()).toBe(0);
  });

  it('with a shared InterruptStatus word, takes and acknowledges interrupts without an exit; the registers see the same word', () => {
    const mem = new SharedArrayBuffer(1 << 20);
    const word = new Int32Array(new SharedArrayBuffer(16));
    let interrupts = 0;
    const device = new MmioTransportDevice(mem, new EchoModel({ features: 0n }), { raiseInterrupt: () => interrupts++, log: () => {} }, { interruptStatusWord: { view: word, index: 2 } });
    const bus = new LoopbackBus(BASE, device);
    const drv = new VirtioMmioDriver(bus, BASE);
    drv.probe();
    drv.negotiate(featureBit(VIRTIO_F_EVENT_IDX));
    const q = drv.createQueue(0, mem, new BumpAllocator(mem.byteLength), { maxSize: 8 });
    drv.driverOk();
    drv.useInterruptStatusWord(word, 2);
    const dma = new BumpAllocator(mem.byteLength);
    dma.alloc(1 << 19, 8);
    const a = dma.alloc(16, 8);
    q.begin();
    q.push(a, 4, false);
    q.push(dma.alloc(16, 8), 16, true);
    q.commit(1);
    drv.kick(0);
    expect(interrupts).toBe(1);
    expect(word[2]).toBe(VIRTIO_MMIO_INT_VRING); // the device set its bit in the shared word
    expect(bus.read32(BASE + VIRTIO_MMIO_LAYOUT.InterruptStatus.offset)).toBe(VIRTIO_MMIO_INT_VRING); // and the register reads it
    const [reads, writes] = [bus.reads, bus.writes];
    expect(drv.ackInterrupt()).toBe(VIRTIO_MMIO_INT_VRING);
    expect([bus.reads - reads, bus.writes - writes]).toEqual([0, 0]); // no exit
    expect(device.interruptStatus).toBe(0);
    expect(drv.ackInterrupt()).toBe(0);
    // A guest scribbling other bits into the word changes nothing the device reports beyond the two defined bits.
    word[2] = -1;
    expect(device.interruptStatus).toBe(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    bus.write32(BASE + VIRTIO_MMIO_LAYOUT.InterruptACK.offset, VIRTIO_MMIO_INT_VRING);
    expect(device.interruptStatus).toBe(VIRTIO_MMIO_INT_CONFIG);
    expect(q.getUsed()).toBe(1);
  });

  it('refuses a feature set the device rejects: FEATURES_OK does not stick, FAILED is set', () => {
    const model = new EchoModel({ features: featureBit(3) });
    model.acceptFeatures = (f) => (f & featureBit(3)) === 0n; // this device insists the driver not use bit 3
    const m = machine(model);
    m.drv.probe();
    expect(() => m.drv.negotiate(featureBit(3))).toThrow(expect.objectContaining({ code: 'FEATURES_REFUSED' }));
    expect(m.device.deviceStatus & VIRTIO_CONFIG_S_FEATURES_OK).toBe(0);
    expect(m.device.deviceStatus & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
    expect(m.logs.some((l) => /refused feature set/.test(l))).toBe(true);
    expect(m.drv.negotiate(0n)).toBe(featureBit(VIRTIO_F_VERSION_1)); // a reset and a smaller set work
  });

  it('refuses to drive a device without VERSION_1, a legacy device, or an empty slot', () => {
    const m = machine();
    let sel = 0;
    const masking: MmioBus = {
      // hides bit 0 of feature word 1, i.e. VIRTIO_F_VERSION_1 (bit 32)
      read32: (a) => (a === BASE + VIRTIO_MMIO_LAYOUT.DeviceFeatures.offset && sel === 1 ? m.bus.read32(a) & ~1 : m.bus.read32(a)),
      write32: (a, v) => {
        if (a === BASE + VIRTIO_MMIO_LAYOUT.DeviceFeaturesSel.offset) sel = v;
        m.bus.write32(a, v);
      },
    };
    const legacyish = new VirtioMmioDriver(masking, BASE);
    expect(() => legacyish.negotiate(0n)).toThrow(expect.objectContaining({ code: 'ENOTSUP' }));
    expect(m.device.deviceStatus & VIRTIO_CONFIG_S_FAILED).toBe(VIRTIO_CONFIG_S_FAILED);
    const regs = (values: Record<number, number>): MmioBus => ({ read32: (a) => values[a - BASE] ?? 0, write32: () => {} });
    expect(() => new VirtioMmioDriver(regs({ 0: 0x12345678 }), BASE).probe()).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(() => new VirtioMmioDriver(regs({ 0: 0x74726976, 4: 1, 8: 2 }), BASE).probe()).toThrow(/legacy/);
    expect(() => new VirtioMmioDriver(regs({ 0: 0x74726976, 4: 2, 8: 0 }), BASE).probe()).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(() => new VirtioMmioDriver(regs({ 0: 0x74726976, 4: 2, 8: 0 }), BASE).probe()).toThrow(VirtioError);
  });

  it('reads configuration space at field widths, consistently across a generation change', () => {
    const m = machine();
    m.drv.probe();
    const cfg = new DataView(m.model.config.buffer);
    cfg.setBigUint64(0, 0x0123456789abcdefn, true);
    cfg.setUint16(8, 0xbeef, true);
    cfg.setUint8(10, 0x5a);
    expect(m.drv.configRead64(0)).toBe(0x0123456789abcdefn);
    expect(m.drv.configRead16(8)).toBe(0xbeef);
    expect(m.drv.configRead8(10)).toBe(0x5a);
    expect(m.drv.configRead32(8)).toBe(0x5abeef);
    // The device changes its config between the two halves of a 64-bit read.
    m.model.onConfigRead = () => {
      cfg.setBigUint64(0, 0xfedcba9876543210n, true);
      m.device.configChanged();
    };
    expect(m.drv.configRead64(0)).toBe(0xfedcba9876543210n);
    const mac = new Uint8Array(6);
    m.drv.configReadBytes(0, mac);
    expect([...mac]).toEqual([0x10, 0x32, 0x54, 0x76, 0x98, 0xba]);
    m.drv.configWrite(12, 2, 0x1234);
    expect(cfg.getUint16(12, true)).toBe(0x1234);
    // A bus without narrow accessors falls back to the aligned word.
    const wide = new VirtioMmioDriver({ read32: (a) => m.bus.read32(a), write32: (a, v) => m.bus.write32(a, v) }, BASE);
    expect(wide.configRead16(8)).toBe(0xbeef);
    expect(wide.configRead8(10)).toBe(0x5a);
    expect(() => wide.configWrite(12, 1, 1)).toThrow(expect.objectContaining({ code: 'ENOTSUP' }));
  });

  it('gives up on a configuration that never stops changing', () => {
    const m = machine();
    const spinning = new VirtioMmioDriver(
      {
        read32: (a) => (a === BASE + VIRTIO_MMIO_LAYOUT.ConfigGeneration.offset ? (m.device.configChanged(), m.bus.read32(a)) : m.bus.read32(a)),
        write32: (a, v) => m.bus.write32(a, v),
      },
      BASE,
    );
    expect(() => spinning.configRead64(0)).toThrow(expect.objectContaining({ code: 'EIO' }));
  });

  it('recognises DEVICE_NEEDS_RESET after a ring violation and recovers by re-initializing', () => {
    const m = machine();
    m.drv.probe();
    m.drv.negotiate(0n);
    const q = m.drv.createQueue(0, m.mem, m.dma, { maxSize: 8 });
    m.drv.driverOk();
    new DataView(m.mem).setUint16(q.driverAddr + 2, 100, true); // avail idx jumps by 100 on a queue of 8
    m.drv.notify(0);
    expect(m.drv.ackInterrupt()).toBe(VIRTIO_MMIO_INT_CONFIG);
    expect(m.drv.needsReset()).toBe(true);
    expect(m.logs.some((l) => /needs reset: queue 0: available idx moved/.test(l))).toBe(true);
    expect(m.model.errors).toBe(1);
    m.drv.negotiate(0n); // resets
    expect(m.model.resets).toBeGreaterThan(0);
    expect(m.device.deviceStatus & VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET).toBe(0);
    q.reset();
    m.drv.setupQueue(0, q);
    m.drv.driverOk();
    const b = m.dma.alloc(8, 8);
    q.add(b, 8, true, 5);
    expect(m.drv.kick(0)).toBe(true);
    expect(q.getUsed()).toBe(5);
  });

  it('refuses to set up a queue that does not exist, is already live, or is too big', () => {
    const m = machine(new EchoModel({ queueCount: 1, queueMax: 16 }));
    m.drv.probe();
    m.drv.negotiate(0n);
    expect(() => m.drv.createQueue(1, m.mem, m.dma)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    const q = m.drv.createQueue(0, m.mem, m.dma);
    expect(q.size).toBe(16);
    expect(() => m.drv.createQueue(0, m.mem, m.dma)).toThrow(/already in use/);
    m.drv.negotiate(0n);
    const tooBig = new VirtqueueDriver(m.mem, m.dma, { size: 32 });
    expect(() => m.drv.setupQueue(0, tooBig)).toThrow(/exceeds QueueNumMax 16/);
  });
});
