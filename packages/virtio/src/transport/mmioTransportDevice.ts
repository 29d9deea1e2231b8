/**
 * The device side of the virtio-mmio transport (virtio-v1.2 4.2.2), for the
 * hv: the register file of one device window and the device status state
 * machine of 2.1 / 3.1.1, generic over a VirtioDeviceModel. The hv routes
 * every MMIO exit in the window here with the offset inside the window.
 *
 * The driver is hostile: read() and write() never throw. Unknown offsets,
 * wrong access sizes, writes to read-only registers, bad queue sizes, queue
 * setup at the wrong time and refused features are ignored (or, for rings
 * that point outside memory and ring protocol violations, turned into
 * DEVICE_NEEDS_RESET) and logged. Logging is capped per reset cycle so a guest
 * cannot flood the host.
 */

import { featureBit, featureWord, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1 } from '../core/features.js';
import type { GuestMemory } from '../core/guestMemory.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '../core/status.js';
import { VirtqueueDevice } from '../ring/virtqueueDevice.js';
import { VIRTQ_MAX_SIZE, isValidQueueSize } from '../ring/virtqLayout.js';
import { VirtioError } from '../virtioError.js';
import {
  VIRTIO_MMIO_CONFIG_OFFSET,
  VIRTIO_MMIO_INT_CONFIG,
  VIRTIO_MMIO_INT_VRING,
  VIRTIO_MMIO_LAYOUT as R,
  VIRTIO_MMIO_MAGIC_VALUE,
  VIRTIO_MMIO_VENDOR_OSV_TS,
  VIRTIO_MMIO_VERSION,
  VIRTIO_MMIO_WINDOW_SIZE,
} from './mmioLayout.js';
import type { ConfigAccessSize, VirtioDeviceModel, VirtioTransport } from './virtioDeviceModel.js';

/** Most virtqueues a model may declare. */
export const MMIO_MAX_QUEUES = 1024;
/** Log lines per reset cycle before the transport goes quiet (a hostile guest could flood the host). */
export const MMIO_LOG_LIMIT = 64;

const TWO_POW_32 = 4294967296;
const ALL_ONES = 0xffffffff;
/** Status bits a driver may write (the rest of the byte is undefined; NEEDS_RESET is the device's). */
const DRIVER_STATUS_BITS = 0xff & ~VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET;

/** The hv's side of a transport: how the device signals and reports. */
export interface MmioTransportHooks {
  /** Assert the device's interrupt line (InterruptStatus has just gained a bit). */
  raiseInterrupt(): void;
  /** Report a guest mistake or device error, one line, no trailing newline. */
  log(message: string): void;
}

/** Optional transport settings. */
export interface MmioTransportOptions {
  /**
   * Ring features offered on top of the model's (default: INDIRECT_DESC and
   * EVENT_IDX, both implemented by VirtqueueDevice). Pass 0n to offer neither.
   */
  readonly ringFeatures?: bigint;
  /**
   * Keep InterruptStatus in this shared word instead of a private field (a
   * paravirtual shortcut the hv offers: the driver takes and acknowledges
   * the bits with one Atomics.exchange instead of a read exit and a write
   * exit per interrupt). The registers keep working on the same word.
   */
  readonly interruptStatusWord?: SharedWord;
}

/** One 32-bit word of shared memory. */
export interface SharedWord {
  readonly view: Int32Array;
  readonly index: number;
}

/**
 * One virtio-mmio v2 device window. Construct it with the guest memory, the
 * device model and the hv's hooks; forward MMIO exits to read()/write().
 */
export class MmioTransportDevice implements VirtioTransport {
  private readonly memory: GuestMemory;
  private readonly model: VirtioDeviceModel;
  private readonly hooks: MmioTransportHooks;
  private readonly offered: bigint;
  private readonly offeredWords: Uint32Array; // offered features as [lo, hi]
  private readonly queueCount: number;
  private readonly queues: (VirtqueueDevice | null)[];
  private readonly qNum: Uint32Array;
  private readonly qAddrLo: Uint32Array; // per queue: desc, driver, device address, low words
  private readonly qAddrHi: Uint32Array; // and high words
  private readonly driverWords = new Uint32Array(2);
  private status = 0;
  private isr = 0;
  private readonly isrWord: SharedWord | null;
  private generation = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private queueSel = 0;
  private negotiated = 0n;
  private logged = 0;

  /**
   * @throws VirtioError EINVAL when the model declares an impossible queue count
   */
  constructor(memory: GuestMemory, model: VirtioDeviceModel, hooks: MmioTransportHooks, options: MmioTransportOptions = {}) {
    const count = model.queueCount;
    if (!Number.isInteger(count) || count < 0 || count > MMIO_MAX_QUEUES) {
      throw new VirtioError('EINVAL', `device model ${model.deviceId} declares ${count} queues; 0..${MMIO_MAX_QUEUES} allowed`);
    }
    this.memory = memory;
    this.model = model;
    this.hooks = hooks;
    this.isrWord = options.interruptStatusWord ?? null;
    const ring = options.ringFeatures ?? featureBit(VIRTIO_F_INDIRECT_DESC) | featureBit(VIRTIO_F_EVENT_IDX);
    this.offered = (model.features | ring | featureBit(VIRTIO_F_VERSION_1)) & 0xffff_ffff_ffff_ffffn;
    this.offeredWords = Uint32Array.of(featureWord(this.offered, 0), featureWord(this.offered, 1));
    this.queueCount = count;
    this.queues = new Array<VirtqueueDevice | null>(count).fill(null);
    this.qNum = new Uint32Array(count);
    this.qAddrLo = new Uint32Array(count * 3);
    this.qAddrHi = new Uint32Array(count * 3);
    this.resetRegisters();
    model.attach?.(this);
  }

  private loadIsr(): number {
    const w = this.isrWord;
    return w === null ? this.isr : Atomics.load(w.view, w.index) & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
  }

  private ackIsr(bits: number): void {
    const w = this.isrWord;
    if (w === null) this.isr &= ~bits;
    else Atomics.and(w.view, w.index, ~bits);
  }

  /** Device status (VIRTIO_CONFIG_S_*), as the driver reads it. */
  get deviceStatus(): number {
    return this.status;
  }
  /** Pending InterruptStatus bits (VIRTIO_MMIO_INT_*). */
  get interruptStatus(): number {
    return this.loadIsr();
  }
  /** ConfigGeneration as the driver reads it. */
  get configGeneration(): number {
    return this.generation;
  }
  /** The feature set offered to the driver (model features + ring features + VERSION_1). */
  get deviceFeatures(): bigint {
    return this.offered;
  }
  /** The feature set the driver accepted with FEATURES_OK (0n before, and after a reset). */
  get driverFeatures(): bigint {
    return this.negotiated;
  }
  /** Whether the accepted feature set has `bit`. */
  hasFeature(bit: number): boolean {
    return bit >= 0 && bit < 64 && ((this.negotiated >> BigInt(bit)) & 1n) === 1n;
  }
  /** Queue `index` once the driver made it ready (and it passed validation), else null. */
  queue(index: number): VirtqueueDevice | null {
    return this.queues[index] ?? null;
  }

  /**
   * Serves a driver read of `size` bytes at `offset` in the window. Registers
   * need aligned 32-bit reads; configuration space takes 1, 2 or 4 naturally
   * aligned bytes. Anything else reads 0 and is logged. Never throws.
   */
  read(offset: number, size: number): number {
    try {
      if (!this.accessInWindow(offset, size)) return 0;
      if (offset >= VIRTIO_MMIO_CONFIG_OFFSET) return this.configRead(offset - VIRTIO_MMIO_CONFIG_OFFSET, size);
      if (size !== 4 || offset % 4 !== 0) {
        this.log(`read of ${size} bytes at register 0x${offset.toString(16)}: registers need aligned 32-bit access`);
        return 0;
      }
      return this.readRegister(offset) >>> 0;
    } catch (e) {
      this.modelFault(e);
      return 0;
    }
  }

  /**
   * Serves a driver write of `size` bytes of `value` at `offset` in the window,
   * with the rules of 4.2.2 / 4.2.2.2 / 4.2.3; anything else is ignored and
   * logged. Never throws.
   */
  write(offset: number, size: number, value: number): void {
    try {
      if (!this.accessInWindow(offset, size)) return;
      const v = value >>> 0;
      if (offset >= VIRTIO_MMIO_CONFIG_OFFSET) {
        this.configWrite(offset - VIRTIO_MMIO_CONFIG_OFFSET, size, v);
        return;
      }
      if (size !== 4 || offset % 4 !== 0) {
        this.log(`write of ${size} bytes at register 0x${offset.toString(16)} ignored: registers need aligned 32-bit access`);
        return;
      }
      this.writeRegister(offset, v);
    } catch (e) {
      this.modelFault(e);
    }
  }

  /**
   * Publishes queue `index`'s used elements (VirtqueueDevice.flush) and, when
   * the driver wants it, sets the used-buffer bit and raises the interrupt.
   * Returns whether it interrupted.
   */
  flush(index: number): boolean {
    const q = this.queues[index];
    if (q === undefined || q === null || !q.flush()) return false;
    return this.interrupt(VIRTIO_MMIO_INT_VRING);
  }

  /** The configuration space changed (4.2.2 ConfigGeneration): bump the generation and notify. */
  configChanged(): void {
    this.generation = (this.generation + 1) >>> 0;
    this.interrupt(VIRTIO_MMIO_INT_CONFIG);
  }

  /**
   * Sets DEVICE_NEEDS_RESET (2.1.2) and, once the driver is live, sends a
   * configuration change notification; logs `reason`. Called by queues on a
   * ring violation and by models on unrecoverable errors. Later notifications
   * are ignored until the driver resets the device.
   */
  needsReset(reason: string): void {
    this.log(`device needs reset: ${reason}`);
    if ((this.status & VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET) !== 0) return;
    this.status |= VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET;
    this.interrupt(VIRTIO_MMIO_INT_CONFIG);
  }

  /**
   * Sets InterruptStatus `bits` and raises the line, once the driver is live
   * (no notification may precede DRIVER_OK, 3.1.1). Returns whether it raised.
   */
  interrupt(bits: number): boolean {
    if ((this.status & VIRTIO_CONFIG_S_DRIVER_OK) === 0) return false;
    const b = bits & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    const w = this.isrWord;
    if (w !== null) Atomics.or(w.view, w.index, b);
    else this.isr |= b;
    this.hooks.raiseInterrupt();
    return true;
  }

  /**
   * Logs through the hv's hook, at most MMIO_LOG_LIMIT lines per reset cycle
   * (then one "suppressed" line), so a guest cannot flood the host.
   */
  log(message: string): void {
    if (this.logged > MMIO_LOG_LIMIT) return;
    this.logged++;
    this.hooks.log(this.logged > MMIO_LOG_LIMIT ? 'further messages suppressed until the driver resets the device' : message);
  }

  private accessInWindow(offset: number, size: number): boolean {
    if (Number.isInteger(offset) && offset >= 0 && (size === 1 || size === 2 || size === 4) && offset + size <= VIRTIO_MMIO_WINDOW_SIZE) return true;
    this.log(`access of ${size} bytes at offset ${offset} is outside the ${VIRTIO_MMIO_WINDOW_SIZE}-byte window or of a bad size`);
    return false;
  }

  private readRegister(offset: number): number {
    switch (offset) {
      case R.MagicValue.offset: return VIRTIO_MMIO_MAGIC_VALUE;
      case R.Version.offset: return VIRTIO_MMIO_VERSION;
      case R.DeviceID.offset: return this.model.deviceId;
      case R.VendorID.offset: return this.model.vendorId ?? VIRTIO_MMIO_VENDOR_OSV_TS;
      case R.DeviceFeatures.offset: return this.deviceFeaturesSel < 2 ? this.offeredWords[this.deviceFeaturesSel]! : 0;
      case R.QueueNumMax.offset: return this.queueMax(this.queueSel);
      case R.QueueReady.offset: return this.queues[this.queueSel] ? 1 : 0;
      case R.InterruptStatus.offset: return this.loadIsr();
      case R.Status.offset: return this.status;
      case R.ConfigGeneration.offset: return this.generation;
      case R.SHMLenLow.offset:
      case R.SHMLenHigh.offset:
      case R.SHMBaseLow.offset:
      case R.SHMBaseHigh.offset: return ALL_ONES; // no shared memory regions: length -1
      case R.QueueReset.offset: return 0; // VIRTIO_F_RING_RESET is not offered
      default:
        this.log(`read of write-only or reserved register 0x${offset.toString(16)}`);
        return 0;
    }
  }

  private writeRegister(offset: number, v: number): void {
    switch (offset) {
      case R.DeviceFeaturesSel.offset: this.deviceFeaturesSel = v; return;
      case R.DriverFeaturesSel.offset: this.driverFeaturesSel = v; return;
      case R.DriverFeatures.offset: this.writeDriverFeatures(v); return;
      case R.QueueSel.offset: this.queueSel = v; return;
      case R.QueueNum.offset: this.writeQueueNum(v); return;
      case R.QueueReady.offset: this.writeQueueReady(v); return;
      case R.QueueNotify.offset: this.notify(v); return;
      case R.InterruptACK.offset: this.ackIsr(v); return;
      case R.Status.offset: this.writeStatus(v); return;
      case R.QueueDescLow.offset: this.writeQueueAddr(0, v, false); return;
      case R.QueueDescHigh.offset: this.writeQueueAddr(0, v, true); return;
      case R.QueueDriverLow.offset: this.writeQueueAddr(1, v, false); return;
      case R.QueueDriverHigh.offset: this.writeQueueAddr(1, v, true); return;
      case R.QueueDeviceLow.offset: this.writeQueueAddr(2, v, false); return;
      case R.QueueDeviceHigh.offset: this.writeQueueAddr(2, v, true); return;
      case R.SHMSel.offset: return; // every region id reads back as absent
      case R.QueueReset.offset:
        this.log('QueueReset written but VIRTIO_F_RING_RESET was not offered; ignored');
        return;
      default:
        this.log(`write of 0x${v.toString(16)} to read-only or reserved register 0x${offset.toString(16)} ignored`);
    }
  }

  private writeDriverFeatures(v: number): void {
    if ((this.status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0) {
      this.log('DriverFeatures written after FEATURES_OK; ignored');
    } else if (this.driverFeaturesSel < 2) {
      this.driverWords[this.driverFeaturesSel] = v;
    } else if (v !== 0) {
      this.log(`DriverFeatures bits 0x${v.toString(16)} in word ${this.driverFeaturesSel} (beyond bit 63) ignored`);
    }
  }

  private writeStatus(v: number): void {
    if (v === 0) {
      this.reset();
      return;
    }
    const cur = this.status & DRIVER_STATUS_BITS;
    let next = v & DRIVER_STATUS_BITS;
    if ((v & ~0xff) !== 0 || (cur & ~next) !== 0) {
      this.log(`Status write 0x${v.toString(16)} ignored: the driver may only add bits (status is 0x${this.status.toString(16)}), or write 0 to reset`);
      return;
    }
    const added = next & ~cur;
    if ((added & VIRTIO_CONFIG_S_FEATURES_OK) !== 0 && !this.acceptFeatures(next)) next &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    if ((added & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && (next & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
      this.log('DRIVER_OK set before FEATURES_OK was accepted; DRIVER_OK ignored');
      next &= ~VIRTIO_CONFIG_S_DRIVER_OK;
    }
    this.status = next | (this.status & VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET);
    if ((added & next & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) this.model.driverOk?.(this.negotiated);
  }

  /** FEATURES_OK (3.1.1 step 5): accepted only for a subset of the offer that includes VERSION_1. */
  private acceptFeatures(status: number): boolean {
    const need = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    if ((status & need) !== need) {
      this.log('FEATURES_OK set without ACKNOWLEDGE and DRIVER; refused');
      return false;
    }
    const lo = this.driverWords[0]!;
    const hi = this.driverWords[1]!;
    const extraLo = (lo & ~this.offeredWords[0]!) >>> 0;
    const extraHi = (hi & ~this.offeredWords[1]!) >>> 0;
    if (extraLo !== 0 || extraHi !== 0) {
      this.log(`driver accepted features the device did not offer (0x${extraHi.toString(16)}_${extraLo.toString(16).padStart(8, '0')}); FEATURES_OK refused`);
      return false;
    }
    const features = (BigInt(hi) << 32n) | BigInt(lo);
    if ((features & featureBit(VIRTIO_F_VERSION_1)) === 0n) {
      this.log('driver did not accept VIRTIO_F_VERSION_1 (legacy drivers are not supported); FEATURES_OK refused');
      return false;
    }
    if (this.model.acceptFeatures && !this.model.acceptFeatures(features)) {
      this.log(`device model refused feature set 0x${features.toString(16)}; FEATURES_OK refused`);
      return false;
    }
    this.negotiated = features;
    return true;
  }

  private queueMax(q: number): number {
    if (q >= this.queueCount) return 0;
    const m = Math.floor(this.model.queueMaxSize(q));
    return m > 0 ? Math.min(m, VIRTQ_MAX_SIZE) : 0;
  }

  /** Whether the selected queue may be (re)configured now; logs why not. */
  private queueConfigurable(what: string): boolean {
    const q = this.queueSel;
    let why: string | null = null;
    if (q >= this.queueCount) why = `queue ${q} does not exist`;
    else if ((this.status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) why = 'queue setup after DRIVER_OK';
    else if (this.queues[q]) why = `queue ${q} is ready (write QueueReady 0 or reset first)`;
    if (why === null) return true;
    this.log(`${what} ignored: ${why}`);
    return false;
  }

  private writeQueueNum(v: number): void {
    if (!this.queueConfigurable(`QueueNum ${v}`)) return;
    const max = this.queueMax(this.queueSel);
    if (!isValidQueueSize(v) || v > max) {
      this.log(`QueueNum ${v} for queue ${this.queueSel} ignored: not a power of two from 1 to QueueNumMax ${max}`);
      return;
    }
    this.qNum[this.queueSel] = v;
  }

  private writeQueueAddr(part: number, v: number, high: boolean): void {
    if (!this.queueConfigurable(`queue address write`)) return;
    (high ? this.qAddrHi : this.qAddrLo)[this.queueSel * 3 + part] = v;
  }

  /** Physical address `part` (0 desc, 1 driver, 2 device) of queue `q`; Infinity when beyond 2^53. */
  private queueAddr(q: number, part: number): number {
    const hi = this.qAddrHi[q * 3 + part]!;
    return hi >= 0x200000 ? Infinity : hi * TWO_POW_32 + this.qAddrLo[q * 3 + part]!;
  }

  private writeQueueReady(v: number): void {
    const q = this.queueSel;
    if (v === 0) {
      if (q < this.queueCount && (this.status & VIRTIO_CONFIG_S_DRIVER_OK) === 0) this.dropQueue(q);
      else if (q < this.queueCount && this.queues[q]) this.log(`QueueReady 0 for live queue ${q} ignored: needs VIRTIO_F_RING_RESET`);
      return;
    }
    if (v !== 1) {
      this.log(`QueueReady ${v} ignored: only 0 and 1 are defined`);
      return;
    }
    if (!this.queueConfigurable(`QueueReady 1`)) return;
    if ((this.status & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
      this.log(`QueueReady 1 for queue ${q} ignored: features are not negotiated yet (set FEATURES_OK first)`);
      return;
    }
    this.enableQueue(q);
  }

  private enableQueue(q: number): void {
    const config = {
      size: this.qNum[q]!,
      descAddr: this.queueAddr(q, 0),
      driverAddr: this.queueAddr(q, 1),
      deviceAddr: this.queueAddr(q, 2),
      eventIdx: this.hasFeature(VIRTIO_F_EVENT_IDX),
      indirect: this.hasFeature(VIRTIO_F_INDIRECT_DESC),
      onError: (reason: string) => this.needsReset(`queue ${q}: ${reason}`),
    };
    const bad = VirtqueueDevice.check(this.memory.byteLength, config);
    if (bad !== null) {
      this.needsReset(`queue ${q}: ${bad}`);
      return;
    }
    const vq = new VirtqueueDevice(this.memory, config);
    this.queues[q] = vq;
    this.model.queueReady?.(q, vq);
  }

  private dropQueue(q: number): void {
    this.queues[q]?.detach();
    this.queues[q] = null;
  }

  private notify(v: number): void {
    const q = v & 0xffff; // without VIRTIO_F_NOTIFICATION_DATA only the queue index is meaningful
    const vq = this.queues[q];
    if ((this.status & VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET) !== 0) return;
    if ((this.status & VIRTIO_CONFIG_S_DRIVER_OK) === 0) {
      this.log(`QueueNotify ${q} before DRIVER_OK ignored`);
    } else if (vq === undefined || vq === null) {
      this.log(`QueueNotify for queue ${q}, which is not ready, ignored`);
    } else {
      this.model.queueNotify(q, vq);
    }
  }

  private configRead(offset: number, size: number): number {
    if (!this.configAccessOk(offset, size, 'read')) return 0;
    const v = this.model.configRead(offset, size as ConfigAccessSize);
    return size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff);
  }

  private configWrite(offset: number, size: number, v: number): void {
    if (!this.configAccessOk(offset, size, 'write')) return;
    if (!this.model.configWrite) {
      this.log(`write to read-only configuration space at 0x${offset.toString(16)} ignored`);
      return;
    }
    this.model.configWrite(offset, size as ConfigAccessSize, size === 4 ? v : v & (size === 2 ? 0xffff : 0xff));
  }

  private configAccessOk(offset: number, size: number, what: string): boolean {
    const limit = this.model.configSize;
    if (offset % size !== 0) this.log(`configuration ${what} of ${size} bytes at 0x${offset.toString(16)} is not naturally aligned; ignored`);
    else if (limit !== undefined && offset + size > limit) this.log(`configuration ${what} at 0x${offset.toString(16)} is past the ${limit}-byte configuration space; ignored`);
    else return true;
    return false;
  }

  /** Writing 0 to Status (2.4): the device forgets everything the driver set up. */
  private reset(): void {
    this.resetRegisters();
    this.model.reset();
  }

  private resetRegisters(): void {
    for (let q = 0; q < this.queueCount; q++) {
      this.dropQueue(q);
      this.qNum[q] = largestPowerOfTwo(this.queueMax(q)); // QueueNum starts at the largest usable size
    }
    this.qAddrLo.fill(0);
    this.qAddrHi.fill(0);
    this.status = 0;
    this.isr = 0;
    if (this.isrWord !== null) Atomics.store(this.isrWord.view, this.isrWord.index, 0);
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.driverWords.fill(0);
    this.queueSel = 0;
    this.negotiated = 0n;
    this.logged = 0;
  }

  /** A model callback threw: contain it, as a device error the driver can recover from by a reset. */
  private modelFault(e: unknown): void {
    try {
      this.needsReset(`device model failed: ${e instanceof Error ? e.message : String(e)}`);
    } catch {
      // The hooks themselves threw; there is nobody left to tell.
    }
  }
}

function largestPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n >= 1 ? p : 0;
}
