/**
 * The virtio-blk driver (virtio-v1.2 section 5.2): a BlockDevice over one
 * request queue.
 *
 * Each request is a chain of three buffers — the 16-byte header, the data,
 * the status byte — which INDIRECT_DESC turns into one ring slot. Requests go
 * through SLOTS fixed slots, each with its header, status byte and a
 * CHUNK-byte bounce buffer in guest memory (programs' buffers live in the
 * vCPU's heap, which the device cannot reach): a larger request is split into
 * chunks that are all in flight at once. Submitting only fills the ring; the
 * I/O poller (ioWait.ts) kicks the device once per turn, so a burst of
 * requests costs one QueueNotify, and collects completions from the used
 * ring.
 *
 * A device that sets DEVICE_NEEDS_RESET or returns garbage on the used ring
 * fails every request in flight with DEVICE_ERROR and is initialised again.
 */
import {
  VIRTIO_BLK_CONFIG_LAYOUT as CFG,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_REQ_LAYOUT as REQ,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_SECTOR_SIZE,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_MMIO_INT_CONFIG,
  featureBit,
} from '@osv-ts/virtio';
import type { DmaAllocator, VirtioMmioDriver, VirtqueueDriver } from '@osv-ts/virtio/driver';
import { KernelError } from '../errors.js';
import type { BlockDevice } from './blockDevice.js';
import type { IoSource, IoWait } from './ioWait.js';

/** Requests at the device at once. */
export const BLOCK_SLOTS = 32;
/** Bytes per request (bounce buffer per slot). */
export const BLOCK_CHUNK = 128 * 1024;
/** Largest queue asked for: room for every slot even without indirect descriptors (3 each). */
const QUEUE_MAX = 128;
/** Per-slot control area: header, then the status byte, 32-byte aligned. */
const CONTROL_BYTES = 32;
const STATUS_AT = REQ.SIZE;
/** Status byte value before the device answers. */
const STATUS_PENDING = 0xff;

const OP_READ = 0;
const OP_WRITE = 1;
const OP_FLUSH = 2;
const OP_ID = 3;

/** One call of the BlockDevice API: one or more chunks. */
class BlockOp {
  readonly chunks: number;
  submitted = 0;
  completed = 0;
  error: KernelError | null = null;
  settled = false;
  text = '';
  constructor(
    readonly kind: number,
    readonly offset: number,
    readonly buffer: Uint8Array,
    readonly resolve: (value: string) => void,
    readonly reject: (e: KernelError) => void,
  ) {
    this.chunks = kind === OP_READ || kind === OP_WRITE ? Math.ceil(buffer.length / BLOCK_CHUNK) : 1;
  }
}

const EMPTY = new Uint8Array(0);

/** A virtio-blk disk. */
export class VirtioBlock implements BlockDevice, IoSource {
  readonly name: string;
  readonly irq: number;
  readonly maxInFlight = BLOCK_SLOTS;
  blockSize = VIRTIO_BLK_SECTOR_SIZE;
  size = 0;
  readOnly = false;
  private readonly mem: Uint8Array;
  private readonly dv: DataView;
  private readonly vq: VirtqueueDriver;
  private readonly control: number;
  private readonly bounceAddr: number;
  private readonly bounce: Uint8Array[] = [];
  private readonly free: number[] = [];
  private readonly slotOp: (BlockOp | null)[] = [];
  private readonly slotPos = new Float64Array(BLOCK_SLOTS);
  private readonly slotLen = new Float64Array(BLOCK_SLOTS);
  private readonly waiting: BlockOp[] = [];
  private inFlight = 0;
  private needKick = false;
  private dead: string | null = null;

  /**
   * Initialises the device (features, capacity, the queue, DRIVER_OK) and
   * allocates its slots from `dma`.
   * @throws VirtioError when the device refuses initialisation
   */
  constructor(
    private readonly dev: VirtioMmioDriver,
    memory: SharedArrayBuffer,
    dma: DmaAllocator,
    private readonly io: IoWait,
    irq: number,
    name: string,
  ) {
    this.name = name;
    this.irq = irq;
    this.mem = new Uint8Array(memory);
    this.dv = new DataView(memory);
    this.negotiate();
    this.vq = dev.createQueue(0, memory, dma, { maxSize: QUEUE_MAX, indirectMaxChain: 4 });
    dev.driverOk();
    this.control = dma.alloc(BLOCK_SLOTS * CONTROL_BYTES, CONTROL_BYTES);
    this.bounceAddr = dma.alloc(BLOCK_SLOTS * BLOCK_CHUNK, 4096);
    for (let s = BLOCK_SLOTS - 1; s >= 0; s--) this.free.push(s);
    for (let s = 0; s < BLOCK_SLOTS; s++) {
      this.bounce.push(new Uint8Array(memory, this.bounceAddr + s * BLOCK_CHUNK, BLOCK_CHUNK));
      this.slotOp.push(null);
    }
    io.add(this);
  }

  read(offset: number, buffer: Uint8Array): Promise<void> {
    return this.start(OP_READ, offset, buffer).then(() => undefined);
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.start(OP_WRITE, offset, data).then(() => undefined);
  }

  flush(): Promise<void> {
    return this.start(OP_FLUSH, 0, EMPTY).then(() => undefined);
  }

  id(): Promise<string> {
    return this.start(OP_ID, 0, EMPTY);
  }

  busy(): boolean {
    return this.inFlight > 0 || this.waiting.length > 0 || this.needKick;
  }

  poll(): number {
    this.kick();
    let n = 0;
    let slot: number;
    while ((slot = this.vq.getUsed()) >= 0) {
      this.completeSlot(slot);
      n++;
    }
    if (slot !== -1) this.recover(`the device returned a chain it does not own (errno ${-slot})`);
    if (n > 0) {
      this.pump();
      this.kick();
    }
    return n;
  }

  arm(): boolean {
    return this.vq.enableInterrupts();
  }

  disarm(): void {
    this.vq.disableInterrupts();
  }

  deadline(): number {
    return Infinity;
  }

  interrupt(): void {
    const bits = this.dev.ackInterrupt();
    if ((bits & VIRTIO_MMIO_INT_CONFIG) !== 0 && this.dev.needsReset()) this.recover('the device set DEVICE_NEEDS_RESET');
  }

  private negotiate(): void {
    this.dev.probe();
    this.dev.negotiate(
      featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_F_INDIRECT_DESC) | featureBit(VIRTIO_BLK_F_BLK_SIZE) | featureBit(VIRTIO_BLK_F_FLUSH) | featureBit(VIRTIO_BLK_F_RO),
    );
    const sectors = this.dev.configRead64(CFG.capacity.offset);
    this.size = Number(sectors > 2n ** 40n ? 2n ** 40n : sectors) * VIRTIO_BLK_SECTOR_SIZE;
    const bs = this.dev.hasFeature(VIRTIO_BLK_F_BLK_SIZE) ? this.dev.configRead32(CFG.blk_size.offset) : VIRTIO_BLK_SECTOR_SIZE;
    this.blockSize = bs >= VIRTIO_BLK_SECTOR_SIZE && bs <= 65536 && (bs & (bs - 1)) === 0 ? bs : VIRTIO_BLK_SECTOR_SIZE;
    this.readOnly = this.dev.hasFeature(VIRTIO_BLK_F_RO);
  }

  /** Validates a call, queues it and wakes the poller; settles when every chunk is done. */
  private start(kind: number, offset: number, buffer: Uint8Array): Promise<string> {
    const bad = this.dead ?? this.check(kind, offset, buffer.length);
    if (bad !== null) return Promise.reject(bad instanceof KernelError ? bad : new KernelError('DEVICE_ERROR', bad));
    if ((kind === OP_READ || kind === OP_WRITE) && buffer.length === 0) return Promise.resolve('');
    return this.io.track(
      new Promise<string>((resolve, reject) => {
        this.waiting.push(new BlockOp(kind, offset, buffer, resolve, reject));
        this.pump();
        this.io.wake();
      }),
    );
  }

  private check(kind: number, offset: number, length: number): KernelError | null {
    if (kind !== OP_READ && kind !== OP_WRITE) return null;
    const bs = this.blockSize;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % bs !== 0 || length % bs !== 0) {
      return new KernelError('EINVAL', `${this.name}: offset ${offset} and length ${length} must be multiples of the ${bs}-byte block size`);
    }
    if (offset + length > this.size) return new KernelError('EINVAL', `${this.name}: ${length} bytes at ${offset} reach beyond the ${this.size}-byte disk`);
    if (kind === OP_WRITE && this.readOnly) return new KernelError('EROFS', `${this.name}: the disk is read-only`);
    return null;
  }

  /** Puts waiting chunks into free slots and on the ring. */
  private pump(): void {
    while (this.free.length > 0 && this.waiting.length > 0) {
      const op = this.waiting[0]!;
      const slot = this.free.pop()!;
      const pos = op.submitted * BLOCK_CHUNK;
      const len = op.kind === OP_ID ? VIRTIO_BLK_ID_BYTES : Math.min(BLOCK_CHUNK, op.buffer.length - pos);
      const head = this.submit(slot, op, pos, len);
      if (++op.submitted === op.chunks) this.waiting.shift();
      if (head < 0) {
        this.free.push(slot);
        this.chunkDone(op, new KernelError('EIO', `${this.name}: the queue refused a request (errno ${-head})`));
        continue;
      }
      this.slotOp[slot] = op;
      this.slotPos[slot] = pos;
      this.slotLen[slot] = len;
      this.inFlight++;
      this.needKick = true;
    }
  }

  /** Writes slot `slot`'s header and chain for `len` bytes of `op` at `pos`; returns the head or a negative errno. */
  private submit(slot: number, op: BlockOp, pos: number, len: number): number {
    const hdr = this.control + slot * CONTROL_BYTES;
    const type = op.kind === OP_READ ? VIRTIO_BLK_T_IN : op.kind === OP_WRITE ? VIRTIO_BLK_T_OUT : op.kind === OP_FLUSH ? VIRTIO_BLK_T_FLUSH : VIRTIO_BLK_T_GET_ID;
    const sector = op.kind === OP_READ || op.kind === OP_WRITE ? (op.offset + pos) / VIRTIO_BLK_SECTOR_SIZE : 0;
    this.dv.setUint32(hdr + REQ.type.offset, type, true);
    this.dv.setUint32(hdr + REQ.reserved.offset, 0, true);
    this.dv.setUint32(hdr + REQ.sector.offset, sector >>> 0, true);
    this.dv.setUint32(hdr + REQ.sector.offset + 4, Math.floor(sector / 4294967296), true);
    this.mem[hdr + STATUS_AT] = STATUS_PENDING;
    if (op.kind === OP_WRITE) this.bounce[slot]!.set(op.buffer.subarray(pos, pos + len));
    const vq = this.vq;
    vq.begin();
    vq.push(hdr, REQ.SIZE, false);
    if (len > 0) vq.push(this.bounceAddr + slot * BLOCK_CHUNK, len, op.kind !== OP_WRITE);
    vq.push(hdr + STATUS_AT, 1, true);
    return vq.commit(slot);
  }

  private completeSlot(slot: number): void {
    const op = this.slotOp[slot];
    if (!op) return;
    this.slotOp[slot] = null;
    this.free.push(slot);
    this.inFlight--;
    const status = this.mem[this.control + slot * CONTROL_BYTES + STATUS_AT];
    let error: KernelError | null = null;
    if (status === VIRTIO_BLK_S_UNSUPP) error = new KernelError('ENOTSUP', `${this.name}: the device does not support this request`);
    else if (status !== VIRTIO_BLK_S_OK) error = new KernelError('EIO', `${this.name}: I/O error ${op.kind === OP_WRITE ? 'writing' : 'reading'} ${this.slotLen[slot]} bytes at ${op.offset + this.slotPos[slot]!}`);
    else if (op.kind === OP_READ) op.buffer.set(this.bounce[slot]!.subarray(0, this.slotLen[slot]), this.slotPos[slot]);
    else if (op.kind === OP_ID) op.text = idString(this.bounce[slot]!);
    this.chunkDone(op, error);
  }

  private chunkDone(op: BlockOp, error: KernelError | null): void {
    if (error && !op.error) op.error = error;
    if (++op.completed === op.chunks) this.settle(op);
  }

  private settle(op: BlockOp): void {
    if (op.settled) return;
    op.settled = true;
    if (op.error) op.reject(op.error);
    else op.resolve(op.text);
  }

  private kick(): void {
    if (!this.needKick) return;
    this.needKick = false;
    this.dev.kick(0);
  }

  /** Fails everything in flight or waiting, then initialises the device again (or gives up on it). */
  private recover(why: string): void {
    const error = new KernelError('DEVICE_ERROR', `${this.name}: ${why}; requests in flight were lost and the device was reset`);
    const lost = [...this.waiting.splice(0)];
    for (let s = 0; s < BLOCK_SLOTS; s++) {
      const op = this.slotOp[s];
      this.slotOp[s] = null;
      if (op) lost.push(op);
    }
    for (const op of lost) {
      op.error ??= error;
      this.settle(op);
    }
    this.free.length = 0;
    for (let s = BLOCK_SLOTS - 1; s >= 0; s--) this.free.push(s);
    this.inFlight = 0;
    this.needKick = false;
    try {
      this.negotiate();
      this.vq.reset();
      this.dev.setupQueue(0, this.vq);
      this.dev.driverOk();
      if (!this.io.currentPolicy.suppressInterrupts) this.vq.enableInterrupts();
    } catch (e) {
      this.dead = `${this.name}: the device failed and could not be initialised again (${(e as Error).message})`;
    }
  }
}

/** The GET_ID string: ASCII up to the first NUL, at most 20 bytes (5.2.6). */
function idString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < VIRTIO_BLK_ID_BYTES && bytes[i] !== 0; i++) s += String.fromCharCode(bytes[i]! & 0x7f);
  return s;
}
