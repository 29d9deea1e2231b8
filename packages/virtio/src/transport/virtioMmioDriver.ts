/**
 * The driver side of the virtio-mmio transport (virtio-v1.2 4.2.3), for the
 * guest kernel: probing, the initialization sequence of 3.1.1, queue setup,
 * configuration reads guarded by ConfigGeneration, and interrupt handling.
 *
 * Every register access is a VM exit, so the hot paths touch one register
 * each: ackInterrupt() reads InterruptStatus and writes InterruptACK, kick()
 * writes QueueNotify only when the queue says the device asked for it.
 */

import {
  featureBit,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  VIRTIO_TRANSPORT_F_END,
  VIRTIO_TRANSPORT_F_START,
} from '../core/features.js';
import { VIRTIO_ID_INVALID } from '../core/deviceIds.js';
import type { GuestMemory } from '../core/guestMemory.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '../core/status.js';
import type { DmaAllocator } from '../ring/dmaAllocator.js';
import { VirtqueueDriver } from '../ring/virtqueueDriver.js';
import { VIRTQ_MAX_SIZE } from '../ring/virtqLayout.js';
import { VirtioError } from '../virtioError.js';
import type { MmioBus } from './mmioBus.js';
import { VIRTIO_MMIO_CONFIG_OFFSET, VIRTIO_MMIO_INT_CONFIG, VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_LAYOUT as R, VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION } from './mmioLayout.js';

const TWO_POW_32 = 4294967296;
/** Status reads to wait for a reset to complete before giving up (2.4). */
const RESET_POLLS = 1000;
/** Attempts at a consistent configuration read before giving up (2.5.1). */
const CONFIG_RETRIES = 64;
/** Ring features this driver implements; every other bit in 24..41 is never accepted. */
const RING_FEATURES = featureBit(VIRTIO_F_INDIRECT_DESC) | featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_F_VERSION_1);
const TRANSPORT_MASK = ((1n << BigInt(VIRTIO_TRANSPORT_F_END + 1)) - 1n) & ~((1n << BigInt(VIRTIO_TRANSPORT_F_START)) - 1n);

/** What probe() found. */
export interface MmioDeviceInfo {
  /** DeviceID register: which device type (VIRTIO_ID_*). */
  readonly deviceId: number;
  /** VendorID register. */
  readonly vendorId: number;
}

/** Queue options for createQueue beyond what negotiation decides. */
export interface CreateQueueOptions {
  /** Largest size wanted (default 256); the queue gets the largest power of two within this and QueueNumMax. */
  readonly maxSize?: number;
  /** See VirtqueueDriverOptions.indirectThreshold. */
  readonly indirectThreshold?: number;
  /** See VirtqueueDriverOptions.indirectMaxChain. */
  readonly indirectMaxChain?: number;
}

/**
 * One virtio-mmio device as the kernel drives it. Sequence (3.1.1):
 *
 *     const dev = new VirtioMmioDriver(bus, base);
 *     dev.probe();                                  // magic, version 2, device id
 *     dev.negotiate(featureBit(VIRTIO_F_EVENT_IDX) | ...);  // reset, ACK, DRIVER, features, FEATURES_OK
 *     const rx = dev.createQueue(0, memory, dma);   // QueueSel, QueueNum, addresses, QueueReady
 *     dev.driverOk();
 *     // interrupt handler: const bits = dev.ackInterrupt(); ... if (dev.kick(0)) ...
 */
export class VirtioMmioDriver {
  /** The bus the registers are reached through. */
  readonly bus: MmioBus;
  /** Physical address of the device's register window. */
  readonly baseAddr: number;
  private info: MmioDeviceInfo | null = null;
  private status = 0; // what this driver last wrote to Status
  private negotiated = 0n;
  private featLo = 0;
  private featHi = 0;
  private readonly queues: (VirtqueueDriver | undefined)[] = [];
  private isrWord: { readonly view: Int32Array; readonly index: number } | null = null;

  constructor(bus: MmioBus, baseAddr: number) {
    this.bus = bus;
    this.baseAddr = baseAddr;
  }

  /** Device ID found by probe() (0 before). */
  get deviceId(): number {
    return this.info?.deviceId ?? 0;
  }
  /** Vendor ID found by probe() (0 before). */
  get vendorId(): number {
    return this.info?.vendorId ?? 0;
  }
  /** The negotiated feature set (0n before negotiate()). */
  get features(): bigint {
    return this.negotiated;
  }

  /** Whether negotiated feature `bit` is set; cheap (no bigint). */
  hasFeature(bit: number): boolean {
    if (bit < 0 || bit > 63) return false;
    return bit < 32 ? ((this.featLo >>> bit) & 1) === 1 : ((this.featHi >>> (bit - 32)) & 1) === 1;
  }

  /**
   * Identifies the device (4.2.3.1.1): MagicValue, Version 2, a non-zero DeviceID.
   * @throws VirtioError ENODEV when no virtio device answers (bad magic, DeviceID 0);
   *   ENOTSUP for a legacy (version 1) or unknown version
   */
  probe(): MmioDeviceInfo {
    const magic = this.read(R.MagicValue.offset);
    const where = `virtio-mmio at 0x${this.baseAddr.toString(16)}`;
    if (magic !== VIRTIO_MMIO_MAGIC_VALUE) throw new VirtioError('ENODEV', `${where}: magic 0x${magic.toString(16)} is not 'virt'; no virtio device here`);
    const version = this.read(R.Version.offset);
    if (version !== VIRTIO_MMIO_VERSION) {
      throw new VirtioError('ENOTSUP', `${where}: version ${version}; only version 2 (virtio 1.x) is supported${version === 1 ? ' — legacy devices are not' : ''}`);
    }
    const deviceId = this.read(R.DeviceID.offset);
    if (deviceId === VIRTIO_ID_INVALID) throw new VirtioError('ENODEV', `${where}: DeviceID 0, an empty slot`);
    this.info = { deviceId, vendorId: this.read(R.VendorID.offset) };
    return this.info;
  }

  /**
   * Resets the device (writes 0 to Status) and waits until Status reads 0 (2.4).
   * Queues set up before are forgotten by the device; reset() them before reuse.
   * @throws VirtioError EIO when the device never completes the reset
   */
  reset(): void {
    this.write(R.Status.offset, 0);
    this.status = 0;
    this.negotiated = 0n;
    this.featLo = this.featHi = 0;
    this.queues.length = 0;
    for (let i = 0; i < RESET_POLLS; i++) if (this.read(R.Status.offset) === 0) return;
    throw new VirtioError('EIO', `virtio-mmio at 0x${this.baseAddr.toString(16)}: Status did not read 0 after reset`);
  }

  /**
   * Steps 1-6 of 3.1.1: reset, ACKNOWLEDGE, DRIVER, read the 64 device feature
   * bits, accept those of `wanted` the device offers (VERSION_1 always; of
   * the ring features only INDIRECT_DESC and EVENT_IDX, which this package
   * implements), write them, set FEATURES_OK and check it stuck. Returns the
   * accepted set.
   * @throws VirtioError ENOTSUP when the device does not offer VERSION_1;
   *   FEATURES_REFUSED when FEATURES_OK does not stick (FAILED is set in both cases); EIO from reset()
   */
  negotiate(wanted: bigint): bigint {
    this.reset();
    this.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    this.setStatus(VIRTIO_CONFIG_S_DRIVER);
    const offered = this.readDeviceFeatures();
    if ((offered & featureBit(VIRTIO_F_VERSION_1)) === 0n) {
      this.fail();
      throw new VirtioError('ENOTSUP', `virtio-mmio at 0x${this.baseAddr.toString(16)}: device does not offer VIRTIO_F_VERSION_1`);
    }
    const usable = (wanted & ~TRANSPORT_MASK) | (wanted & RING_FEATURES) | featureBit(VIRTIO_F_VERSION_1);
    const accepted = offered & usable;
    this.write(R.DriverFeaturesSel.offset, 0);
    this.write(R.DriverFeatures.offset, Number(accepted & 0xffff_ffffn));
    this.write(R.DriverFeaturesSel.offset, 1);
    this.write(R.DriverFeatures.offset, Number((accepted >> 32n) & 0xffff_ffffn));
    this.setStatus(VIRTIO_CONFIG_S_FEATURES_OK);
    if ((this.read(R.Status.offset) & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
      this.fail();
      throw new VirtioError('FEATURES_REFUSED', `virtio-mmio at 0x${this.baseAddr.toString(16)}: device refused features 0x${accepted.toString(16)}`);
    }
    this.negotiated = accepted;
    this.featLo = Number(accepted & 0xffff_ffffn);
    this.featHi = Number(accepted >> 32n);
    return accepted;
  }

  /**
   * QueueNumMax of queue `index` (4.2.3.2 step 3); 0 when the device has no
   * such queue.
   * @throws VirtioError EINVAL when the queue is already live (QueueReady reads 1)
   */
  queueMaxSize(index: number): number {
    this.write(R.QueueSel.offset, index);
    if (this.read(R.QueueReady.offset) !== 0) throw new VirtioError('EINVAL', `queue ${index} is already in use`);
    return this.read(R.QueueNumMax.offset);
  }

  /**
   * Builds a VirtqueueDriver for queue `index` sized to the device (the largest
   * power of two within QueueNumMax and `maxSize`), with EVENT_IDX and
   * INDIRECT_DESC as negotiated, and makes it live (setupQueue).
   * @throws VirtioError ENODEV when the device has no such queue; EINVAL when
   *   it is already in use; what VirtqueueDriver's constructor throws
   */
  createQueue(index: number, memory: GuestMemory, dma: DmaAllocator, options: CreateQueueOptions = {}): VirtqueueDriver {
    const max = this.queueMaxSize(index);
    if (max === 0) throw new VirtioError('ENODEV', `virtio device ${this.deviceId} has no queue ${index}`);
    const limit = Math.min(max, options.maxSize ?? 256, VIRTQ_MAX_SIZE);
    let size = 1;
    while (size * 2 <= limit) size *= 2;
    const vq = new VirtqueueDriver(memory, dma, {
      size,
      eventIdx: this.hasFeature(VIRTIO_F_EVENT_IDX),
      indirect: this.hasFeature(VIRTIO_F_INDIRECT_DESC),
      ...(options.indirectThreshold === undefined ? {} : { indirectThreshold: options.indirectThreshold }),
      ...(options.indirectMaxChain === undefined ? {} : { indirectMaxChain: options.indirectMaxChain }),
    });
    this.setupQueue(index, vq);
    return vq;
  }

  /**
   * Hands `vq` to the device as queue `index` (4.2.3.2): QueueSel, QueueNum,
   * the three ring addresses, QueueReady 1, and checks that QueueReady stuck
   * (the device refuses rings it cannot use).
   * @throws VirtioError EINVAL when the queue is in use or `vq` is larger than
   *   QueueNumMax; ENODEV when the queue does not exist; EIO when the device refused it
   */
  setupQueue(index: number, vq: VirtqueueDriver): void {
    const max = this.queueMaxSize(index);
    if (max === 0) throw new VirtioError('ENODEV', `virtio device ${this.deviceId} has no queue ${index}`);
    if (vq.size > max) throw new VirtioError('EINVAL', `queue ${index}: size ${vq.size} exceeds QueueNumMax ${max}`);
    this.write(R.QueueNum.offset, vq.size);
    this.write64(R.QueueDescLow.offset, vq.descAddr);
    this.write64(R.QueueDriverLow.offset, vq.driverAddr);
    this.write64(R.QueueDeviceLow.offset, vq.deviceAddr);
    this.write(R.QueueReady.offset, 1);
    if (this.read(R.QueueReady.offset) !== 1) throw new VirtioError('EIO', `virtio device ${this.deviceId} refused queue ${index}`);
    this.queues[index] = vq;
  }

  /** The queue set up as `index`, if any. */
  queue(index: number): VirtqueueDriver | undefined {
    return this.queues[index];
  }

  /** Step 8 of 3.1.1: the driver is ready; the device may now use the queues. */
  driverOk(): void {
    this.setStatus(VIRTIO_CONFIG_S_DRIVER_OK);
  }

  /** Gives up on the device: sets FAILED (2.1). Only a reset revives it. */
  fail(): void {
    this.setStatus(VIRTIO_CONFIG_S_FAILED);
  }

  /** Reads the device status register (one exit). */
  readStatus(): number {
    return this.read(R.Status.offset);
  }

  /**
   * Whether the device set DEVICE_NEEDS_RESET (2.1.2); check after an
   * interrupt with VIRTIO_MMIO_INT_CONFIG. One exit.
   */
  needsReset(): boolean {
    return (this.read(R.Status.offset) & VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET) !== 0;
  }

  /**
   * Interrupt handler entry (4.2.3.4): reads InterruptStatus, acknowledges
   * those bits, returns them (VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_INT_CONFIG).
   * One read exit plus one posted write when anything was pending.
   */
  ackInterrupt(): number {
    const w = this.isrWord;
    if (w !== null) return Atomics.exchange(w.view, w.index, 0) & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    const bits = this.read(R.InterruptStatus.offset);
    if (bits !== 0) this.write(R.InterruptACK.offset, bits);
    return bits;
  }

  /**
   * Uses the shared InterruptStatus word the platform gives this device (the
   * hv's IRQ_STATUS words) from now on: ackInterrupt() becomes one
   * Atomics.exchange, with no exit. Only for a device whose transport keeps
   * its InterruptStatus there (MmioTransportOptions.interruptStatusWord).
   */
  useInterruptStatusWord(view: Int32Array, index: number): void {
    this.isrWord = { view, index };
  }

  /** Notifies the device of new buffers in queue `index` (QueueNotify, a posted write). */
  notify(index: number): void {
    this.write(R.QueueNotify.offset, index);
  }

  /** Publishes queue `index`'s new chains (VirtqueueDriver.kick) and notifies only if the device asked. */
  kick(index: number): boolean {
    const vq = this.queues[index];
    if (vq === undefined || !vq.kick()) return false;
    this.notify(index);
    return true;
  }

  /** Reads a u8 of configuration space at `offset` (one exit, no generation check). */
  configRead8(offset: number): number {
    const a = this.baseAddr + VIRTIO_MMIO_CONFIG_OFFSET + offset;
    if (this.bus.read8) return this.bus.read8(a) & 0xff;
    return (this.bus.read32(a - (a % 4)) >>> ((a % 4) * 8)) & 0xff;
  }

  /** Reads a le16 of configuration space at `offset` (2-aligned). */
  configRead16(offset: number): number {
    const a = this.baseAddr + VIRTIO_MMIO_CONFIG_OFFSET + offset;
    if (this.bus.read16) return this.bus.read16(a) & 0xffff;
    return (this.bus.read32(a - (a % 4)) >>> ((a % 4) * 8)) & 0xffff;
  }

  /** Reads a le32 of configuration space at `offset` (4-aligned). */
  configRead32(offset: number): number {
    return this.bus.read32(this.baseAddr + VIRTIO_MMIO_CONFIG_OFFSET + offset) >>> 0;
  }

  /** Reads a le64 of configuration space as two 32-bit halves, consistently (2.5.1). */
  configRead64(offset: number): bigint {
    return this.configConsistent(() => (BigInt(this.configRead32(offset + 4)) << 32n) | BigInt(this.configRead32(offset)));
  }

  /** Fills `dst` from configuration space at `offset` byte by byte, consistently (e.g. a MAC address). */
  configReadBytes(offset: number, dst: Uint8Array): void {
    this.configConsistent(() => {
      for (let i = 0; i < dst.length; i++) dst[i] = this.configRead8(offset + i);
    });
  }

  /**
   * Runs `read` until ConfigGeneration is the same before and after (2.5.1),
   * so a multi-field read sees one version of the configuration space.
   * @throws VirtioError EIO when the generation keeps changing
   */
  configConsistent<T>(read: () => T): T {
    for (let i = 0; i < CONFIG_RETRIES; i++) {
      const before = this.read(R.ConfigGeneration.offset);
      const value = read();
      if (this.read(R.ConfigGeneration.offset) === before) return value;
    }
    throw new VirtioError('EIO', `virtio device ${this.deviceId}: configuration generation kept changing`);
  }

  /**
   * Writes configuration space: `size` 1, 2 or 4 bytes of `value` at `offset`.
   * @throws VirtioError ENOTSUP for a 1- or 2-byte write on a bus without write8/write16
   */
  configWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    const a = this.baseAddr + VIRTIO_MMIO_CONFIG_OFFSET + offset;
    if (size === 4) this.bus.write32(a, value >>> 0);
    else if (size === 2 && this.bus.write16) this.bus.write16(a, value & 0xffff);
    else if (size === 1 && this.bus.write8) this.bus.write8(a, value & 0xff);
    else throw new VirtioError('ENOTSUP', `this MMIO bus cannot write ${size} bytes of configuration space`);
  }

  private readDeviceFeatures(): bigint {
    this.write(R.DeviceFeaturesSel.offset, 0);
    const lo = this.read(R.DeviceFeatures.offset);
    this.write(R.DeviceFeaturesSel.offset, 1);
    const hi = this.read(R.DeviceFeatures.offset);
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  private setStatus(bit: number): void {
    this.status |= bit;
    this.write(R.Status.offset, this.status);
  }

  private write64(lowOffset: number, addr: number): void {
    this.write(lowOffset, addr >>> 0);
    this.write(lowOffset + 4, Math.floor(addr / TWO_POW_32));
  }

  private read(offset: number): number {
    return this.bus.read32(this.baseAddr + offset) >>> 0;
  }

  private write(offset: number, value: number): void {
    this.bus.write32(this.baseAddr + offset, value);
  }
}
