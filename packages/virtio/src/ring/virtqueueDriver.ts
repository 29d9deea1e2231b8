/**
 * The driver half of a split virtqueue (virtio-v1.2 2.7.13, "Supplying
 * Buffers to The Device", and 2.7.14, "Receiving Used Buffers"). Owned by one
 * guest thread at a time: callers serialise access (the device half runs on
 * another thread and meets this one only through the rings).
 *
 * Hot-path contract: add (begin/push/commit), kick and getUsed allocate
 * nothing and never throw; they return numbers (a head id, a token, or a
 * negative errno from VIRTIO_ERRNO). Driver bookkeeping (free list, chain
 * tails, tokens) lives in host arrays, never in guest memory, so a device that
 * scribbles over the descriptor table cannot corrupt it.
 */

import type { GuestMemory } from '../core/guestMemory.js';
import { HOST_IS_LITTLE_ENDIAN } from '../internal/hostEndian.js';
import { VirtioError, VIRTIO_ERRNO } from '../virtioError.js';
import type { DmaAllocator } from './dmaAllocator.js';
import {
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_ALIGN,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_LAYOUT,
  VIRTQ_USED_ELEM_LAYOUT,
  VIRTQ_USED_F_NO_NOTIFY,
  virtqLayout,
} from './virtqLayout.js';
import { vringNeedEvent } from './vringNeedEvent.js';

// Descriptor field positions in 32-bit words and 16-bit halves, from VIRTQ_DESC_LAYOUT.
const DESC_WORDS = VIRTQ_DESC_LAYOUT.SIZE / 4;
const DESC_ADDR_W = VIRTQ_DESC_LAYOUT.addr.offset / 4; // low word; high word follows
const DESC_LEN_W = VIRTQ_DESC_LAYOUT.len.offset / 4;
const DESC_HALVES = VIRTQ_DESC_LAYOUT.SIZE / 2;
const DESC_FLAGS_H = VIRTQ_DESC_LAYOUT.flags.offset / 2;
const DESC_NEXT_H = VIRTQ_DESC_LAYOUT.next.offset / 2;
const USED_ELEM_WORDS = VIRTQ_USED_ELEM_LAYOUT.SIZE / 4;
const USED_ID_W = VIRTQ_USED_ELEM_LAYOUT.id.offset / 4;
const USED_LEN_W = VIRTQ_USED_ELEM_LAYOUT.len.offset / 4;
const TWO_POW_32 = 4294967296;

const EINVAL = -VIRTIO_ERRNO.EINVAL;
const EFAULT = -VIRTIO_ERRNO.EFAULT;
const ENOSPC = -VIRTIO_ERRNO.ENOSPC;
const EIO = -VIRTIO_ERRNO.EIO;

/** Returned by getUsed when no used buffer is pending. */
export const VIRTQ_NONE = -1;

/** How to build a VirtqueueDriver. */
export interface VirtqueueDriverOptions {
  /** Queue size N: a power of two from 1 to 32768, at most the device's QueueNumMax. */
  readonly size: number;
  /** VIRTIO_F_EVENT_IDX was negotiated: use used_event / avail_event (2.7.7, 2.7.10). */
  readonly eventIdx?: boolean;
  /** VIRTIO_F_INDIRECT_DESC was negotiated: long chains use one slot and an indirect table (2.7.5.3). */
  readonly indirect?: boolean;
  /** Chains of at least this many buffers go indirect when `indirect` is set (default 3). */
  readonly indirectThreshold?: number;
  /**
   * Most buffers one indirect table holds (default min(N, 32)); the queue
   * reserves N tables of this many descriptors (N * this * 16 bytes). Longer
   * chains fall back to direct descriptors.
   */
  readonly indirectMaxChain?: number;
}

/**
 * The driver side of one split virtqueue in guest memory. Build it after
 * feature negotiation (it must know whether EVENT_IDX and INDIRECT_DESC were
 * accepted), hand its three addresses to the transport
 * (VirtioMmioDriver.setupQueue), then:
 *
 *     vq.begin(); vq.push(hdr, 16, false); vq.push(buf, 4096, true);
 *     const head = vq.commit(token);        // >= 0, or -ENOSPC / -EINVAL / -EFAULT
 *     if (vq.kick()) transport.notify(i);   // only when the device asked for it
 *     ...
 *     for (let t; (t = vq.getUsed()) >= 0; ) complete(t, vq.usedLength);
 *
 * Tokens are caller-chosen non-negative numbers returned on completion.
 */
export class VirtqueueDriver {
  /** Queue size N (entries). */
  readonly size: number;
  /** Physical address of the descriptor table (QueueDesc). */
  readonly descAddr: number;
  /** Physical address of the available ring (QueueDriver). */
  readonly driverAddr: number;
  /** Physical address of the used ring (QueueDevice). */
  readonly deviceAddr: number;
  /** Whether EVENT_IDX suppression is in use. */
  readonly eventIdx: boolean;
  /** Whether indirect tables are in use. */
  readonly indirect: boolean;

  private readonly memory: GuestMemory;
  private readonly memSize: number;
  private readonly mask: number;
  private readonly u16: Uint16Array;
  private readonly u32: Uint32Array;
  // Ring field positions as typed-array indices.
  private readonly descW: number;
  private readonly descH: number;
  private readonly availFlagsH: number;
  private readonly availIdxH: number;
  private readonly availRingH: number;
  private readonly usedEventH: number;
  private readonly usedFlagsH: number;
  private readonly usedIdxH: number;
  private readonly usedRingW: number;
  private readonly availEventH: number;
  // Indirect tables: N tables of indirectEntries descriptors, table i owned by head i.
  private readonly indirectAddr: number;
  private readonly indirectEntries: number;
  private readonly indirectThreshold: number;
  // Free list and per-head bookkeeping, host-side (never trusted to guest memory).
  private readonly nextFree: Uint16Array; // link of a free descriptor, or of a chain member
  private readonly chainTail: Uint16Array; // per head: last descriptor of its chain
  private readonly chainCount: Uint16Array; // per head: descriptors the chain holds in the table
  private readonly chainWritable: Float64Array; // per head: device-writable bytes
  private readonly tokens: Float64Array; // per head: the caller's token, -1 when free
  private freeHead = 0;
  private numFree: number;
  private inFlight = 0;
  // Staged chain (begin/push/commit).
  private readonly stAddr: Float64Array;
  private readonly stLen: Uint32Array;
  private readonly stWritable: Uint8Array;
  private stCount = 0;
  private stWritableBytes = 0;
  private stError = 0;
  // Ring indices, free-running mod 2^16.
  private availShadow = 0; // next avail idx to use
  private availPublished = 0; // avail idx the device can see
  private lastUsed = 0; // next used entry to consume
  private usedIdxCache = 0; // last used idx read from the device
  private interruptsOff = false;
  private broken = false;
  private lastLen = 0;

  /**
   * Allocates the rings (and the indirect tables when `indirect`) from `dma`
   * and initialises them. Setup time only.
   * @throws VirtioError EINVAL for a bad size or an allocation outside guest
   *   memory, ENOMEM when the allocator fails (its error kept as cause),
   *   ENOTSUP on a big-endian host
   */
  constructor(memory: GuestMemory, dma: DmaAllocator, options: VirtqueueDriverOptions) {
    if (!HOST_IS_LITTLE_ENDIAN) throw new VirtioError('ENOTSUP', 'virtio rings need a little-endian host');
    const size = options.size;
    let layout;
    try {
      layout = virtqLayout(size);
    } catch (e) {
      throw new VirtioError('EINVAL', `virtqueue size ${size}: must be a power of two from 1 to 32768`, { cause: e });
    }
    this.memory = memory;
    this.memSize = memory.byteLength;
    this.size = size;
    this.mask = size - 1;
    this.eventIdx = options.eventIdx === true;
    this.indirect = options.indirect === true;
    this.u16 = new Uint16Array(memory, 0, Math.floor(this.memSize / 2));
    this.u32 = new Uint32Array(memory, 0, Math.floor(this.memSize / 4));

    const base = allocate(dma, layout.totalSize, VIRTQ_DESC_ALIGN, this.memSize, 'virtqueue rings');
    this.descAddr = base + layout.desc.offset;
    this.driverAddr = base + layout.avail.offset;
    this.deviceAddr = base + layout.used.offset;
    const av = layout.avail.fields;
    const us = layout.used.fields;
    this.descW = this.descAddr / 4;
    this.descH = this.descAddr / 2;
    this.availFlagsH = (this.driverAddr + av.flags.offset) / 2;
    this.availIdxH = (this.driverAddr + av.idx.offset) / 2;
    this.availRingH = (this.driverAddr + av.ring.offset) / 2;
    this.usedEventH = (this.driverAddr + av.used_event.offset) / 2;
    this.usedFlagsH = (this.deviceAddr + us.flags.offset) / 2;
    this.usedIdxH = (this.deviceAddr + us.idx.offset) / 2;
    this.usedRingW = (this.deviceAddr + us.ring.offset) / 4;
    this.availEventH = (this.deviceAddr + us.avail_event.offset) / 2;

    const maxChain = Math.min(size, options.indirectMaxChain ?? 32);
    this.indirectEntries = this.indirect ? Math.max(1, Math.floor(maxChain)) : 0;
    this.indirectThreshold = Math.max(2, Math.floor(options.indirectThreshold ?? 3));
    this.indirectAddr = this.indirect
      ? allocate(dma, size * this.indirectEntries * VIRTQ_DESC_LAYOUT.SIZE, VIRTQ_DESC_ALIGN, this.memSize, 'indirect tables')
      : 0;

    this.nextFree = new Uint16Array(size);
    this.chainTail = new Uint16Array(size);
    this.chainCount = new Uint16Array(size);
    this.chainWritable = new Float64Array(size);
    this.tokens = new Float64Array(size);
    this.stAddr = new Float64Array(size);
    this.stLen = new Uint32Array(size);
    this.stWritable = new Uint8Array(size);
    this.numFree = size;
    this.reset();
  }

  /**
   * Returns the queue to its just-built state: rings zeroed, every descriptor
   * free, every token forgotten. Use after a device reset, before handing the
   * queue to the transport again. Tokens of chains still in flight are lost.
   */
  reset(): void {
    const bytes = new Uint8Array(this.memory);
    const l = virtqLayout(this.size);
    bytes.fill(0, this.descAddr, this.descAddr + l.totalSize);
    for (let i = 0; i < this.size; i++) this.nextFree[i] = (i + 1) & this.mask;
    this.tokens.fill(-1);
    this.freeHead = 0;
    this.numFree = this.size;
    this.inFlight = 0;
    this.stCount = 0;
    this.stError = 0;
    this.stWritableBytes = 0;
    this.availShadow = 0;
    this.availPublished = 0;
    this.lastUsed = 0;
    this.usedIdxCache = 0;
    this.interruptsOff = false;
    this.broken = false;
    this.lastLen = 0;
  }

  /** Descriptors not in use (a direct chain of k buffers needs k, an indirect one 1). */
  get freeDescriptors(): number {
    return this.numFree;
  }

  /** Chains added and not yet returned by getUsed. */
  get inFlightChains(): number {
    return this.inFlight;
  }

  /** Bytes the device wrote into the chain getUsed returned last (clamped to its writable size). */
  get usedLength(): number {
    return this.lastLen;
  }

  /** Whether the device returned something impossible (a head it does not own): reset the device. */
  get isBroken(): boolean {
    return this.broken;
  }

  /** Starts staging a new chain, dropping any staged one. */
  begin(): void {
    this.stCount = 0;
    this.stError = 0;
    this.stWritableBytes = 0;
  }

  /**
   * Stages one buffer of the chain: `len` bytes (1..2^32-1) at physical
   * address `addr`, device-writable when `writable`. Device-readable buffers
   * must come before device-writable ones (2.7.4.2). Returns 0, or a negative
   * errno that commit() will also return: -EINVAL (bad length or order),
   * -EFAULT (outside guest memory), -ENOSPC (longer than the queue).
   */
  push(addr: number, len: number, writable: boolean): number {
    let err = 0;
    const n = this.stCount;
    if (len !== len >>> 0 || len === 0) err = EINVAL;
    else if (!(addr >= 0) || addr % 1 !== 0 || addr + len > this.memSize) err = EFAULT;
    else if (n === this.size) err = ENOSPC;
    else if (!writable && n > 0 && this.stWritable[n - 1] === 1) err = EINVAL;
    if (err !== 0) {
      if (this.stError === 0) this.stError = err;
      return err;
    }
    this.stAddr[n] = addr;
    this.stLen[n] = len;
    this.stWritable[n] = writable ? 1 : 0;
    if (writable) this.stWritableBytes += len;
    this.stCount = n + 1;
    return 0;
  }

  /**
   * Puts the staged chain on the available ring (not yet visible to the
   * device: see kick) and remembers `token` (a non-negative number) for it.
   * Returns the head descriptor id, or: -ENOSPC when the ring has no room (the
   * staged chain is kept, so commit again after getUsed frees descriptors),
   * -EINVAL for an empty chain or a bad token, the first push() error, or -EIO
   * when the queue is broken.
   */
  commit(token: number): number {
    if (this.stError !== 0) {
      const e = this.stError;
      this.begin();
      return e;
    }
    const n = this.stCount;
    if (n === 0 || !(token >= 0)) return EINVAL;
    if (this.broken) return EIO;
    let head: number;
    if (this.indirect && n >= this.indirectThreshold && n <= this.indirectEntries) {
      if (this.numFree === 0) return ENOSPC;
      head = this.commitIndirect(n);
    } else {
      if (this.numFree < n) return ENOSPC;
      head = this.commitDirect(n);
    }
    this.tokens[head] = token;
    this.chainWritable[head] = this.stWritableBytes;
    this.u16[this.availRingH + (this.availShadow & this.mask)] = head;
    this.availShadow = (this.availShadow + 1) & 0xffff;
    this.inFlight++;
    this.stCount = 0;
    this.stWritableBytes = 0;
    return head;
  }

  /** Stages and commits a one-buffer chain: begin(); push(addr, len, writable); commit(token). */
  add(addr: number, len: number, writable: boolean, token: number): number {
    this.begin();
    this.push(addr, len, writable);
    return this.commit(token);
  }

  /**
   * Makes every committed chain visible to the device (publishes avail idx,
   * 2.7.13.3) and says whether the device wants a notification: under EVENT_IDX
   * when avail idx passed avail_event (2.7.10), otherwise unless the device set
   * VIRTQ_USED_F_NO_NOTIFY. Send QueueNotify only when this returns true.
   */
  kick(): boolean {
    const nw = this.availShadow;
    const old = this.availPublished;
    if (nw === old) return false;
    Atomics.store(this.u16, this.availIdxH, nw);
    this.availPublished = nw;
    // The seq-cst store above orders before these loads (the 2.7.13.4 barrier).
    if (this.eventIdx) return vringNeedEvent(Atomics.load(this.u16, this.availEventH), nw, old);
    return (Atomics.load(this.u16, this.usedFlagsH) & VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  /** Whether the device has returned a chain that getUsed has not yet collected. */
  hasUsed(): boolean {
    if (this.lastUsed !== this.usedIdxCache) return true;
    this.usedIdxCache = Atomics.load(this.u16, this.usedIdxH);
    return this.lastUsed !== this.usedIdxCache;
  }

  /**
   * Collects the next chain the device used (2.7.14): returns its token, with
   * the bytes written in `usedLength`; VIRTQ_NONE (-1) when none is pending;
   * -EIO when the device returned a head it does not own or more chains than
   * were in flight (the queue is then broken until reset()).
   */
  getUsed(): number {
    if (this.broken) return EIO;
    if (this.lastUsed === this.usedIdxCache) {
      const idx = Atomics.load(this.u16, this.usedIdxH);
      if (idx === this.lastUsed) return VIRTQ_NONE;
      if (((idx - this.lastUsed) & 0xffff) > this.inFlight) return this.fail();
      this.usedIdxCache = idx;
    }
    const w = this.usedRingW + (this.lastUsed & this.mask) * USED_ELEM_WORDS;
    const id = this.u32[w + USED_ID_W]!;
    const len = this.u32[w + USED_LEN_W]!;
    if (id >= this.size) return this.fail();
    const token = this.tokens[id]!;
    if (token < 0) return this.fail();
    this.tokens[id] = -1;
    this.nextFree[this.chainTail[id]!] = this.freeHead;
    this.freeHead = id;
    this.numFree += this.chainCount[id]!;
    this.inFlight--;
    const writable = this.chainWritable[id]!;
    this.lastLen = len > writable ? writable : len;
    this.lastUsed = (this.lastUsed + 1) & 0xffff;
    // 2.7.7.2 / Linux: ask for an interrupt for the very next used entry.
    if (this.eventIdx && !this.interruptsOff) Atomics.store(this.u16, this.usedEventH, this.lastUsed);
    return token;
  }

  /**
   * Asks the device not to interrupt (2.7.7): sets VIRTQ_AVAIL_F_NO_INTERRUPT,
   * or under EVENT_IDX moves used_event behind the used idx so it is not
   * crossed again. A hint only: an interrupt may still arrive.
   */
  disableInterrupts(): void {
    this.interruptsOff = true;
    if (this.eventIdx) Atomics.store(this.u16, this.usedEventH, (this.lastUsed - 1) & 0xffff);
    else Atomics.store(this.u16, this.availFlagsH, VIRTQ_AVAIL_F_NO_INTERRUPT);
  }

  /**
   * Asks for an interrupt on the next used buffer, then re-checks the used
   * ring (the race-free sequence of 2.7.7.2). Returns true when nothing is
   * pending, so the caller may wait for the interrupt; false when used buffers
   * arrived meanwhile: collect them with getUsed (interrupts stay enabled).
   */
  enableInterrupts(): boolean {
    this.interruptsOff = false;
    if (this.eventIdx) Atomics.store(this.u16, this.usedEventH, this.lastUsed);
    else Atomics.store(this.u16, this.availFlagsH, 0);
    this.usedIdxCache = Atomics.load(this.u16, this.usedIdxH);
    return this.usedIdxCache === this.lastUsed;
  }

  /**
   * Like enableInterrupts, but under EVENT_IDX asks to be interrupted only
   * after about 3/4 of the chains now in flight complete (for transmit queues
   * that only need to reclaim buffers). Returns true when fewer than that have
   * completed already, false when the caller should collect now.
   */
  enableInterruptsDelayed(): boolean {
    if (!this.eventIdx) return this.enableInterrupts();
    this.interruptsOff = false;
    const ahead = Math.floor((this.inFlight * 3) / 4);
    Atomics.store(this.u16, this.usedEventH, (this.lastUsed + ahead) & 0xffff);
    this.usedIdxCache = Atomics.load(this.u16, this.usedIdxH);
    return ((this.usedIdxCache - this.lastUsed) & 0xffff) <= ahead;
  }

  private commitDirect(n: number): number {
    const head = this.freeHead;
    let d = head;
    for (let i = 0; i < n; i++) {
      const last = i === n - 1;
      const next = last ? 0 : this.nextFree[d]!;
      let flags = this.stWritable[i] === 1 ? VIRTQ_DESC_F_WRITE : 0;
      if (!last) flags |= VIRTQ_DESC_F_NEXT;
      this.writeDesc(this.descW + d * DESC_WORDS, this.descH + d * DESC_HALVES, this.stAddr[i]!, this.stLen[i]!, flags, next);
      if (!last) d = next;
    }
    this.freeHead = this.nextFree[d]!;
    this.numFree -= n;
    this.chainTail[head] = d;
    this.chainCount[head] = n;
    return head;
  }

  private commitIndirect(n: number): number {
    const head = this.freeHead;
    this.freeHead = this.nextFree[head]!;
    this.numFree--;
    const table = this.indirectAddr + head * this.indirectEntries * VIRTQ_DESC_LAYOUT.SIZE;
    const tW = table / 4;
    const tH = table / 2;
    for (let i = 0; i < n; i++) {
      let flags = this.stWritable[i] === 1 ? VIRTQ_DESC_F_WRITE : 0;
      if (i < n - 1) flags |= VIRTQ_DESC_F_NEXT;
      this.writeDesc(tW + i * DESC_WORDS, tH + i * DESC_HALVES, this.stAddr[i]!, this.stLen[i]!, flags, i + 1 < n ? i + 1 : 0);
    }
    this.writeDesc(this.descW + head * DESC_WORDS, this.descH + head * DESC_HALVES, table, n * VIRTQ_DESC_LAYOUT.SIZE, VIRTQ_DESC_F_INDIRECT, 0);
    this.chainTail[head] = head;
    this.chainCount[head] = 1;
    return head;
  }

  private writeDesc(w: number, h: number, addr: number, len: number, flags: number, next: number): void {
    this.u32[w + DESC_ADDR_W] = addr >>> 0;
    this.u32[w + DESC_ADDR_W + 1] = Math.floor(addr / TWO_POW_32);
    this.u32[w + DESC_LEN_W] = len;
    this.u16[h + DESC_FLAGS_H] = flags;
    this.u16[h + DESC_NEXT_H] = next;
  }

  private fail(): number {
    this.broken = true;
    return EIO;
  }
}

function allocate(dma: DmaAllocator, bytes: number, align: number, memSize: number, what: string): number {
  let addr: number;
  try {
    addr = dma.alloc(bytes, align);
  } catch (e) {
    throw new VirtioError('ENOMEM', `cannot allocate ${bytes} bytes for ${what}: the DMA allocator failed`, { cause: e });
  }
  if (!Number.isInteger(addr) || addr < 0 || addr % align !== 0 || addr + bytes > memSize) {
    throw new VirtioError('EINVAL', `DMA allocator returned ${addr} for ${bytes} bytes aligned ${align}: not inside guest memory (${memSize} bytes) or misaligned`);
  }
  return addr;
}
