/**
 * The device half of a split virtqueue, for the hv: pops the chains a guest
 * made available and returns them used (virtio-v1.2 2.7). Runs on the hv's
 * thread, meeting the guest only through the rings in guest memory.
 *
 * Everything in the rings is hostile. pop() validates the whole chain before
 * returning it and copies its segments out, so nothing the guest changes
 * later moves them. On a violation the queue breaks: pop returns a negative
 * errno, `error` holds a reason, `onError` is called once (the transport
 * turns that into DEVICE_NEEDS_RESET), and nothing more is popped until a
 * reset builds a new queue. No access goes outside the guest buffer (every
 * non-atomic access goes through a DataView, which throws rather than wrap,
 * and every offset is checked first), no loop runs longer than the queue size,
 * nothing throws, and the hot path allocates nothing.
 */

import type { GuestMemory } from '../core/guestMemory.js';
import { HOST_IS_LITTLE_ENDIAN } from '../internal/hostEndian.js';
import { VirtioError, VIRTIO_ERRNO } from '../virtioError.js';
import { DescriptorChain } from './descriptorChain.js';
import {
  VIRTQ_AVAIL_ALIGN,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_ALIGN,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_LAYOUT,
  VIRTQ_USED_ALIGN,
  VIRTQ_USED_ELEM_LAYOUT,
  VIRTQ_USED_F_NO_NOTIFY,
  isValidQueueSize,
  virtqAvailLayout,
  virtqUsedLayout,
} from './virtqLayout.js';
import { vringNeedEvent } from './vringNeedEvent.js';

const DESC_SIZE = VIRTQ_DESC_LAYOUT.SIZE;
const DESC_ADDR = VIRTQ_DESC_LAYOUT.addr.offset;
const DESC_LEN = VIRTQ_DESC_LAYOUT.len.offset;
const DESC_FLAGS = VIRTQ_DESC_LAYOUT.flags.offset;
const DESC_NEXT = VIRTQ_DESC_LAYOUT.next.offset;
const USED_ELEM_SIZE = VIRTQ_USED_ELEM_LAYOUT.SIZE;
const USED_ID = VIRTQ_USED_ELEM_LAYOUT.id.offset;
const USED_LEN = VIRTQ_USED_ELEM_LAYOUT.len.offset;
const TWO_POW_32 = 4294967296;
/** High address words at or above this make an address >= 2^53: outside any guest memory. */
const ADDR_HI_LIMIT = 0x200000;
/** A chain's total length must fit 32 bits (2.7.5.2). */
const MAX_CHAIN_BYTES = 0xffffffff;

const EINVAL = -VIRTIO_ERRNO.EINVAL;
const EFAULT = -VIRTIO_ERRNO.EFAULT;
const ELOOP = -VIRTIO_ERRNO.ELOOP;
const ENODEV = -VIRTIO_ERRNO.ENODEV;

/** Returned by pop when no chain is available. */
export const VIRTQ_EMPTY = -1;

/** Where the guest placed a queue and what was negotiated for it. */
export interface VirtqueueDeviceConfig {
  /** Queue size N (QueueNum): a power of two from 1 to 32768. */
  readonly size: number;
  /** Descriptor table physical address (QueueDesc), 16-aligned. */
  readonly descAddr: number;
  /** Available ring physical address (QueueDriver), 2-aligned. */
  readonly driverAddr: number;
  /** Used ring physical address (QueueDevice), 4-aligned. */
  readonly deviceAddr: number;
  /** VIRTIO_F_EVENT_IDX was negotiated. */
  readonly eventIdx: boolean;
  /** VIRTIO_F_INDIRECT_DESC was negotiated (otherwise an INDIRECT descriptor is a violation). */
  readonly indirect: boolean;
  /** Called once, on the first violation, with the reason (the transport sets DEVICE_NEEDS_RESET). */
  readonly onError?: (reason: string) => void;
}

/**
 * The device side of one split virtqueue. Typical use in a model's
 * queueNotify:
 *
 *     for (let h; (h = q.pop()) >= 0; ) {
 *       const c = q.chain;                 // segments of chain h
 *       const n = c.write(reply);          // into its writable part
 *       q.pushUsed(h, n);
 *     }
 *     transport.flush(i);                  // publish used idx, interrupt if wanted
 */
export class VirtqueueDevice {
  /** Queue size N. */
  readonly size: number;
  /** Whether EVENT_IDX is in use on this queue. */
  readonly eventIdx: boolean;
  /** Whether indirect descriptors are allowed on this queue. */
  readonly indirect: boolean;
  /** The chain pop() fills when given none. */
  readonly chain: DescriptorChain;

  private readonly memory: GuestMemory;
  private readonly memSize: number;
  private readonly mask: number;
  private readonly dv: DataView;
  private readonly u16: Uint16Array;
  private readonly descAddr: number;
  private readonly availFlagsH: number;
  private readonly availIdxH: number;
  private readonly availRing: number; // byte address
  private readonly usedEventH: number;
  private readonly usedFlagsH: number;
  private readonly usedIdxH: number;
  private readonly usedRing: number; // byte address
  private readonly availEventH: number;
  private readonly onError: ((reason: string) => void) | undefined;
  private lastAvail = 0; // next avail entry to pop (mod 2^16)
  private availIdxCache = 0; // avail idx last read from the driver
  private usedShadow = 0; // next used entry to fill
  private usedPublished = 0; // used idx the driver can see
  private notifyOn = true;
  private errno = 0;
  private reason: string | null = null;
  private detached = false;

  /**
   * Why `config` cannot describe a queue in a guest memory of `memSize` bytes
   * (size not a power of two up to 32768, an address misaligned or any part
   * outside memory), or null when it can. The transport calls this when the
   * driver sets QueueReady.
   */
  static check(memSize: number, config: Pick<VirtqueueDeviceConfig, 'size' | 'descAddr' | 'driverAddr' | 'deviceAddr'>): string | null {
    const n = config.size;
    if (!isValidQueueSize(n)) return `queue size ${n} is not a power of two from 1 to 32768`;
    const parts: readonly [string, number, number, number][] = [
      ['descriptor table', config.descAddr, VIRTQ_DESC_ALIGN, DESC_SIZE * n],
      ['available ring', config.driverAddr, VIRTQ_AVAIL_ALIGN, virtqAvailLayout(n).SIZE],
      ['used ring', config.deviceAddr, VIRTQ_USED_ALIGN, virtqUsedLayout(n).SIZE],
    ];
    for (const [what, addr, align, bytes] of parts) {
      if (!Number.isInteger(addr) || addr < 0 || addr > memSize - bytes) {
        return `${what} at 0x${hex(addr)} (${bytes} bytes) lies outside guest memory (${memSize} bytes)`;
      }
      if (addr % align !== 0) return `${what} at 0x${hex(addr)} is not ${align}-byte aligned`;
    }
    return null;
  }

  /**
   * Attaches to a queue the guest set up. Setup time only.
   * @throws VirtioError EINVAL when VirtqueueDevice.check rejects `config`,
   *   ENOTSUP on a big-endian host
   */
  constructor(memory: GuestMemory, config: VirtqueueDeviceConfig) {
    if (!HOST_IS_LITTLE_ENDIAN) throw new VirtioError('ENOTSUP', 'virtio rings need a little-endian host');
    const bad = VirtqueueDevice.check(memory.byteLength, config);
    if (bad !== null) throw new VirtioError('EINVAL', `bad virtqueue configuration: ${bad}`);
    const n = config.size;
    this.memory = memory;
    this.memSize = memory.byteLength;
    this.size = n;
    this.mask = n - 1;
    this.eventIdx = config.eventIdx;
    this.indirect = config.indirect;
    this.onError = config.onError;
    this.dv = new DataView(memory);
    this.u16 = new Uint16Array(memory, 0, Math.floor(this.memSize / 2));
    const av = virtqAvailLayout(n);
    const us = virtqUsedLayout(n);
    this.descAddr = config.descAddr;
    this.availFlagsH = (config.driverAddr + av.flags.offset) / 2;
    this.availIdxH = (config.driverAddr + av.idx.offset) / 2;
    this.availRing = config.driverAddr + av.ring.offset;
    this.usedEventH = (config.driverAddr + av.used_event.offset) / 2;
    this.usedFlagsH = (config.deviceAddr + us.flags.offset) / 2;
    this.usedIdxH = (config.deviceAddr + us.idx.offset) / 2;
    this.usedRing = config.deviceAddr + us.ring.offset;
    this.availEventH = (config.deviceAddr + us.avail_event.offset) / 2;
    // Both indices start at 0 on a freshly set-up queue (the driver zeroed the rings).
    this.chain = this.createChain();
  }

  /** A new chain cursor for this queue (setup time: it allocates). */
  createChain(): DescriptorChain {
    return new DescriptorChain(this.memory, this.size);
  }

  /** The reason of the first violation, or null while the queue is healthy. */
  get error(): string | null {
    return this.reason;
  }

  /** Whether the transport detached this queue (a reset): it pops and pushes nothing more. */
  get isDetached(): boolean {
    return this.detached;
  }

  /** Chains pushed with pushUsed and not yet published by flush. */
  get pendingUsed(): number {
    return (this.usedShadow - this.usedPublished) & 0xffff;
  }

  /** Whether the driver has made chains available that pop has not taken. */
  hasAvailable(): boolean {
    if (this.errno !== 0 || this.detached) return false;
    if (this.lastAvail !== this.availIdxCache) return true;
    return Atomics.load(this.u16, this.availIdxH) !== this.lastAvail;
  }

  /**
   * Takes the next available chain and validates it (2.7.5, 2.7.5.3, 2.7.6)
   * into `chain`. Returns its head id (give it back with pushUsed), VIRTQ_EMPTY
   * (-1) when none is available, or a negative errno on a violation: -EINVAL
   * (malformed), -EFAULT (a buffer outside guest memory), -ELOOP (a chain longer
   * than the queue), -ENODEV (detached). A violation breaks the queue: every
   * later pop returns the same errno. `chain` must come from this queue.
   */
  pop(chain: DescriptorChain = this.chain): number {
    if (this.errno !== 0) return this.errno;
    if (this.detached) return ENODEV;
    if (this.lastAvail === this.availIdxCache) {
      const idx = Atomics.load(this.u16, this.availIdxH);
      if (idx === this.lastAvail) return VIRTQ_EMPTY;
      if (((idx - this.lastAvail) & 0xffff) > this.size) {
        return this.violation(EINVAL, `available idx moved from ${this.lastAvail} to ${idx}, more than the queue size ${this.size}`);
      }
      this.availIdxCache = idx;
    }
    if (chain.capacity < this.size) return EINVAL; // a chain made for a smaller queue: caller's bug, not the guest's
    const head = this.dv.getUint16(this.availRing + (this.lastAvail & this.mask) * 2, true);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    // 2.7.10: under EVENT_IDX, ask to be notified once the driver adds past what we took.
    if (this.eventIdx && this.notifyOn) Atomics.store(this.u16, this.availEventH, this.lastAvail);
    if (head >= this.size) return this.violation(EINVAL, `available ring entry holds head ${head}, not below the queue size ${this.size}`);
    return this.walk(head, chain);
  }

  /**
   * Returns chain `head` to the driver as used, with `len` bytes written into
   * its writable part (2.7.8). Not visible to the driver until flush().
   * Returns 0, -EINVAL for a head outside the queue, -ENODEV once detached.
   */
  pushUsed(head: number, len: number): number {
    if (this.detached) return ENODEV;
    if (!(head >= 0 && head < this.size) || head % 1 !== 0) return EINVAL;
    const at = this.usedRing + (this.usedShadow & this.mask) * USED_ELEM_SIZE;
    this.dv.setUint32(at + USED_ID, head, true);
    this.dv.setUint32(at + USED_LEN, len >>> 0, true);
    this.usedShadow = (this.usedShadow + 1) & 0xffff;
    return 0;
  }

  /**
   * Publishes every pushed used element with one used idx store (2.7.8) and
   * says whether the driver wants an interrupt: under EVENT_IDX when used idx
   * passed used_event (2.7.7), otherwise unless VIRTQ_AVAIL_F_NO_INTERRUPT is
   * set. Returns false when nothing was pending. The transport's flush() calls
   * this and raises the interrupt.
   */
  flush(): boolean {
    if (this.detached) return false;
    const nw = this.usedShadow;
    const old = this.usedPublished;
    if (nw === old) return false;
    Atomics.store(this.u16, this.usedIdxH, nw);
    this.usedPublished = nw;
    if (this.eventIdx) return vringNeedEvent(Atomics.load(this.u16, this.usedEventH), nw, old);
    return (Atomics.load(this.u16, this.availFlagsH) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /**
   * Asks the driver not to notify (2.7.10): sets VIRTQ_USED_F_NO_NOTIFY, or
   * under EVENT_IDX moves avail_event behind the avail idx. A hint only.
   */
  disableNotifications(): void {
    if (this.detached) return;
    this.notifyOn = false;
    if (this.eventIdx) Atomics.store(this.u16, this.availEventH, (this.lastAvail - 1) & 0xffff);
    else Atomics.store(this.u16, this.usedFlagsH, VIRTQ_USED_F_NO_NOTIFY);
  }

  /**
   * Asks the driver to notify on its next addition, then re-checks the
   * available ring (race-free, as 2.7.10 requires). Returns true when the queue
   * is empty, so the device may wait for a notification; false when chains
   * arrived meanwhile: pop them.
   */
  enableNotifications(): boolean {
    if (this.detached) return true;
    this.notifyOn = true;
    if (this.eventIdx) Atomics.store(this.u16, this.availEventH, this.lastAvail);
    else Atomics.store(this.u16, this.usedFlagsH, 0);
    return !this.hasAvailable();
  }

  /**
   * Stops all further ring access (pop returns -ENODEV, pushUsed and flush do
   * nothing). The transport calls it on reset, so completions of requests that
   * were in flight cannot land in memory the guest has reused.
   */
  detach(): void {
    this.detached = true;
  }

  /** Walks and validates chain `head`, recording its segments; returns head or a negative errno. */
  private walk(head: number, chain: DescriptorChain): number {
    const dv = this.dv;
    chain.clear(head);
    let table = this.descAddr;
    let entries = this.size;
    let inIndirect = false;
    let idx = head;
    let count = 0;
    let total = 0;
    let seenWritable = false;
    for (;;) {
      if (++count > this.size) return this.violation(ELOOP, `chain at head ${head} is longer than the queue size ${this.size} (a loop?)`);
      const at = table + idx * DESC_SIZE;
      const lo = dv.getUint32(at + DESC_ADDR, true);
      const hi = dv.getUint32(at + DESC_ADDR + 4, true);
      const len = dv.getUint32(at + DESC_LEN, true);
      const flags = dv.getUint16(at + DESC_FLAGS, true);
      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
        const bad = this.checkIndirect(inIndirect, flags, hi, lo, len);
        if (bad !== 0) return bad;
        table = hi * TWO_POW_32 + lo;
        entries = len / DESC_SIZE;
        inIndirect = true;
        idx = 0;
        count--; // the table's own descriptor is not a buffer
        continue;
      }
      if (len === 0) return this.violation(EINVAL, `descriptor ${idx}${inIndirect ? ' (indirect)' : ''} of chain ${head} has length 0`);
      if (hi >= ADDR_HI_LIMIT || hi * TWO_POW_32 + lo > this.memSize - len) {
        return this.violation(EFAULT, `descriptor ${idx} of chain ${head}: buffer 0x${hex(hi * TWO_POW_32 + lo)}+${len} lies outside guest memory (${this.memSize} bytes)`);
      }
      const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      if (writable) seenWritable = true;
      else if (seenWritable) return this.violation(EINVAL, `chain ${head} has a device-readable buffer after a device-writable one`);
      total += len;
      if (total > MAX_CHAIN_BYTES) return this.violation(EINVAL, `chain ${head} is longer than 2^32-1 bytes`);
      chain.append(hi * TWO_POW_32 + lo, len, writable);
      if ((flags & VIRTQ_DESC_F_NEXT) === 0) return head;
      idx = dv.getUint16(at + DESC_NEXT, true);
      if (idx >= entries) {
        return this.violation(EINVAL, `chain ${head} links to descriptor ${idx}, not below ${inIndirect ? 'its indirect table size' : 'the queue size'} ${entries}`);
      }
    }
  }

  /** Checks an INDIRECT descriptor (2.7.5.3.1); 0 when acceptable. */
  private checkIndirect(inIndirect: boolean, flags: number, hi: number, lo: number, len: number): number {
    if (!this.indirect) return this.violation(EINVAL, 'indirect descriptor used but VIRTIO_F_INDIRECT_DESC was not negotiated');
    if (inIndirect) return this.violation(EINVAL, 'indirect descriptor inside an indirect table');
    if ((flags & VIRTQ_DESC_F_NEXT) !== 0) return this.violation(EINVAL, 'indirect descriptor has both INDIRECT and NEXT set');
    if (len === 0 || len % DESC_SIZE !== 0) return this.violation(EINVAL, `indirect table length ${len} is not a non-zero multiple of ${DESC_SIZE}`);
    if (hi >= ADDR_HI_LIMIT || hi * TWO_POW_32 + lo > this.memSize - len) {
      return this.violation(EFAULT, `indirect table 0x${hex(hi * TWO_POW_32 + lo)}+${len} lies outside guest memory (${this.memSize} bytes)`);
    }
    return 0;
  }

  private violation(errno: number, reason: string): number {
    if (this.errno === 0) {
      this.errno = errno;
      this.reason = reason;
      try {
        this.onError?.(reason);
      } catch {
        // The hook is the transport's or the caller's; pop must not throw whatever it does.
      }
    }
    return this.errno;
  }
}

function hex(x: number): string {
  return Number.isFinite(x) ? x.toString(16) : String(x);
}
