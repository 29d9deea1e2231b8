/**
 * virtio-blk (virtio-v1.2 section 5.2) over a BlockBackend: one request
 * queue, IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES.
 *
 * The ring is validated by VirtqueueDevice; this file validates requests,
 * which the guest controls as completely:
 *  - a chain without a 16-byte device-readable header or without a
 *    device-writable status byte cannot be answered at all: the device goes
 *    to DEVICE_NEEDS_RESET with the reason (as QEMU does);
 *  - so does a head made available again while its request is in flight;
 *  - data lengths that are not whole sectors, sector ranges beyond the disk,
 *    malformed DISCARD/WRITE_ZEROES segment lists: VIRTIO_BLK_S_IOERR;
 *  - any write to a device that offered VIRTIO_BLK_F_RO: IOERR, nothing
 *    written (5.2.6.2); unknown request types, unknown segment flags and
 *    DISCARD with the unmap flag: VIRTIO_BLK_S_UNSUPP.
 *
 * Requests complete out of order, as host I/O finishes; the used elements of
 * everything that completed in one turn of the hv's event loop are published
 * with one flush (one interrupt at most). Up to a queue's worth of requests
 * are in flight; the rest wait in the ring.
 */
import {
  ConfigSpace,
  VIRTQ_EMPTY,
  type VirtioDeviceModel,
  type VirtioTransport,
  type VirtqueueDevice,
} from '@osv-ts/virtio/device';
import {
  VIRTIO_BLK_CONFIG_LAYOUT,
  VIRTIO_BLK_DISCARD_WRITE_ZEROES_LAYOUT as SEG,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_F_WRITE_ZEROES,
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_REQ_LAYOUT as REQ,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_BLK_T_WRITE_ZEROES,
  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP,
  VIRTIO_ID_BLOCK,
  featureBit,
} from '@osv-ts/virtio';
import { SECTOR, type BlockBackend } from './blockBackend.js';
import { BlockRequest, RequestPool, type RequestOwner } from './blockRequest.js';
import { VirtioMmioDevice, type DeviceWiring } from './virtioMmioDevice.js';

/** Default queue size offered (QueueNumMax). */
export const BLOCK_QUEUE_SIZE = 256;
/** Most sectors one DISCARD or WRITE_ZEROES segment may cover (2 GiB). */
const MAX_RANGE_SECTORS = 1 << 22;
/** Most segments in one DISCARD or WRITE_ZEROES request. */
const MAX_RANGE_SEGMENTS = 64;
/** Addresses at or above 2^53 bytes: a high sector word at or above this is beyond any disk. */
const SECTOR_HI_LIMIT = 1 << 12;
const TWO_POW_32 = 4294967296;

/** Options of a virtio-blk device. */
export interface BlockDeviceOptions {
  /** Offer VIRTIO_BLK_F_RO even when the backend takes writes. */
  readonly readOnly?: boolean;
  /** GET_ID string (default: the backend's); at most 20 ASCII bytes are used. */
  readonly serial?: string;
  /** QueueNumMax (default BLOCK_QUEUE_SIZE). */
  readonly queueSize?: number;
  /** Offer VIRTIO_F_EVENT_IDX (default true). */
  readonly eventIdx?: boolean;
}

/** Counters, for tests and diagnostics. */
export interface BlockStats {
  requests: number;
  ioErrors: number;
  unsupported: number;
}

/** The virtio-blk device model. */
export class BlockModel implements VirtioDeviceModel, RequestOwner {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly features: bigint;
  readonly queueCount = 1;
  readonly configSize = VIRTIO_BLK_CONFIG_LAYOUT.SIZE;
  readonly stats: BlockStats = { requests: 0, ioErrors: 0, unsupported: 0 };
  private readonly config = new ConfigSpace(VIRTIO_BLK_CONFIG_LAYOUT);
  private readonly mem: Uint8Array;
  private readonly readOnly: boolean;
  private readonly sectors: number;
  private readonly queueSize: number;
  private readonly hdr = new Uint8Array(REQ.SIZE);
  private readonly hdrView = new DataView(this.hdr.buffer);
  private readonly seg = new Uint8Array(SEG.SIZE);
  private readonly segView = new DataView(this.seg.buffer);
  private readonly id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
  private readonly afterIo = (): void => this.publishAsync();
  private transport: VirtioTransport | undefined;
  private pool: RequestPool | null = null;
  private inFlight = 0;
  private draining = false;
  private publishScheduled = false;
  private starved = false;
  private broken = false;
  private idle: (() => void) | null = null;

  constructor(
    private readonly backend: BlockBackend,
    memory: SharedArrayBuffer,
    options: BlockDeviceOptions = {},
  ) {
    this.mem = new Uint8Array(memory);
    this.readOnly = options.readOnly === true || !backend.writable;
    this.sectors = backend.size / SECTOR;
    this.queueSize = options.queueSize ?? BLOCK_QUEUE_SIZE;
    let f = featureBit(VIRTIO_BLK_F_SEG_MAX) | featureBit(VIRTIO_BLK_F_BLK_SIZE) | featureBit(VIRTIO_BLK_F_FLUSH);
    f |= this.readOnly ? featureBit(VIRTIO_BLK_F_RO) : featureBit(VIRTIO_BLK_F_DISCARD) | featureBit(VIRTIO_BLK_F_WRITE_ZEROES);
    this.features = f;
    const c = this.config;
    c.set('capacity', this.sectors);
    c.set('seg_max', this.queueSize - 2);
    c.set('blk_size', SECTOR);
    c.set('max_discard_sectors', MAX_RANGE_SECTORS);
    c.set('max_discard_seg', MAX_RANGE_SEGMENTS);
    c.set('discard_sector_alignment', 1);
    c.set('max_write_zeroes_sectors', MAX_RANGE_SECTORS);
    c.set('max_write_zeroes_seg', MAX_RANGE_SEGMENTS);
    const serial = options.serial ?? backend.serial;
    for (let i = 0; i < this.id.length && i < serial.length; i++) this.id[i] = serial.charCodeAt(i) & 0x7f;
  }

  attach(transport: VirtioTransport): void {
    this.transport = transport;
  }

  queueMaxSize(): number {
    return this.queueSize;
  }

  configRead(offset: number, size: 1 | 2 | 4): number {
    return this.config.read(offset, size);
  }

  queueReady(_index: number, queue: VirtqueueDevice): void {
    this.pool = new RequestPool(queue, this);
  }

  queueNotify(): void {
    this.drain();
  }

  reset(): void {
    // Requests still doing host I/O belong to the old pool: they finish
    // without touching guest memory or the rings (see requestDone).
    this.pool = null;
    this.starved = false;
    this.broken = false;
  }

  /** Resolves once no request is in flight (power-off waits for it before closing the backend). */
  quiesce(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }

  /**
   * Called when a request's last host operation has ended, from an fs
   * callback as often as not: nothing of the transport is on the stack to
   * catch for us, so whatever goes wrong becomes DEVICE_NEEDS_RESET here.
   */
  requestDone(req: BlockRequest): void {
    if (req.writeThrough && req.error === null && req.status === VIRTIO_BLK_S_OK && req.pool === this.pool) {
      req.writeThrough = false;
      req.addPart();
      try {
        this.backend.flush(req);
        return;
      } catch (e) {
        req.error = e as NodeJS.ErrnoException; // flush failed before starting: complete now, with IOERR
      }
    }
    this.inFlight--;
    try {
      const pool = req.pool;
      if (pool === this.pool && !this.broken) this.complete(pool, req);
      else pool.give(req);
    } catch (e) {
      this.fail(`device failed completing a request: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.inFlight === 0 && this.idle) {
      const resolve = this.idle;
      this.idle = null;
      resolve();
    }
    if (!this.draining && !this.publishScheduled) {
      this.publishScheduled = true;
      setImmediate(this.afterIo);
    }
  }

  /** Pops and starts requests while the ring has some and requests are free. */
  private drain(): void {
    const pool = this.pool;
    if (!pool || this.draining) return;
    this.draining = true;
    try {
      this.popAll(pool);
    } finally {
      this.draining = false;
    }
    this.transport?.flush(0);
  }

  private popAll(pool: RequestPool): void {
    const q = pool.queue;
    while (!this.broken) {
      const req = pool.take();
      if (!req) {
        this.starved = true;
        return;
      }
      const head = q.pop(req.chain);
      if (head < 0) {
        // VIRTQ_EMPTY, or a ring violation the queue already reported (DEVICE_NEEDS_RESET).
        pool.give(req);
        if (head !== VIRTQ_EMPTY) this.broken = true;
        return;
      }
      if (pool.headBusy[head] === 1) {
        pool.give(req);
        this.fail(`head ${head} was made available again while its request is in flight`);
        return;
      }
      this.start(pool, req, head);
    }
  }

  private publishAsync(): void {
    this.publishScheduled = false;
    try {
      if (this.starved && this.pool?.hasFree) {
        this.starved = false;
        this.drain();
      } else {
        this.transport?.flush(0);
      }
    } catch (e) {
      this.fail(`device failed publishing completions: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private start(pool: RequestPool, req: BlockRequest, head: number): void {
    const c = req.chain;
    if (c.readableBytes < REQ.SIZE || c.writableBytes < 1) {
      pool.give(req);
      const missing = c.readableBytes < REQ.SIZE ? `a 16-byte device-readable header (it has ${c.readableBytes} readable bytes)` : 'a device-writable status byte';
      this.fail(`request at head ${head} lacks ${missing}`);
      return;
    }
    req.begin(head);
    pool.headBusy[head] = 1;
    this.stats.requests++;
    this.inFlight++;
    c.read(this.hdr);
    const last = c.count - 1;
    req.statusAddr = c.segmentAddress(last) + c.segmentLength(last) - 1;
    req.type = this.hdrView.getUint32(REQ.type.offset, true);
    const lo = this.hdrView.getUint32(REQ.sector.offset, true);
    const hi = this.hdrView.getUint32(REQ.sector.offset + 4, true);
    req.addPart(); // held until every operation is issued, so a synchronous completion cannot finish it early
    try {
      switch (req.type) {
        case VIRTIO_BLK_T_IN: this.startIn(req, lo, hi); break;
        case VIRTIO_BLK_T_OUT: this.startOut(req, lo, hi); break;
        case VIRTIO_BLK_T_FLUSH: this.backend.flush(req); break;
        case VIRTIO_BLK_T_GET_ID: c.write(this.id, 0, Math.min(VIRTIO_BLK_ID_BYTES, c.writableBytes - 1)); break;
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES: this.startRanges(req); break;
        default: req.status = VIRTIO_BLK_S_UNSUPP;
      }
    } catch (e) {
      req.error = e instanceof Error ? e : new Error(String(e)); // completes with IOERR below
    }
    req.partDone(null, 0);
  }

  /** IN: sectors into the writable data buffers (all writable bytes but the status byte). */
  private startIn(req: BlockRequest, lo: number, hi: number): void {
    const c = req.chain;
    const bytes = c.writableBytes - 1;
    const pos = this.position(lo, hi, bytes);
    if (pos < 0) {
      req.status = VIRTIO_BLK_S_IOERR;
      return;
    }
    req.expected = bytes;
    let done = 0;
    for (let i = c.readableCount; i < c.count; i++) {
      const len = i === c.count - 1 ? c.segmentLength(i) - 1 : c.segmentLength(i);
      if (len === 0) continue;
      this.backend.read(this.mem, c.segmentAddress(i), len, pos + done, req);
      done += len;
    }
  }

  /** OUT: the readable data after the header onto the disk. */
  private startOut(req: BlockRequest, lo: number, hi: number): void {
    const c = req.chain;
    const bytes = c.readableBytes - REQ.SIZE;
    const pos = this.readOnly ? -1 : this.position(lo, hi, bytes);
    if (pos < 0) {
      req.status = VIRTIO_BLK_S_IOERR;
      return;
    }
    req.expected = bytes;
    req.writeThrough = this.transport?.hasFeature(VIRTIO_BLK_F_FLUSH) === false;
    let skip = REQ.SIZE;
    let done = 0;
    for (let i = 0; i < c.readableCount; i++) {
      const len = c.segmentLength(i);
      if (skip >= len) {
        skip -= len;
        continue;
      }
      this.backend.write(this.mem, c.segmentAddress(i) + skip, len - skip, pos + done, req);
      done += len - skip;
      skip = 0;
    }
  }

  /**
   * DISCARD and WRITE_ZEROES: the readable data is a list of 16-byte
   * segments. Every segment is checked before any is carried out. DISCARD is
   * a hint the device may ignore (5.2.6.2) and does.
   */
  private startRanges(req: BlockRequest): void {
    const c = req.chain;
    const zeroes = req.type === VIRTIO_BLK_T_WRITE_ZEROES;
    const feature = zeroes ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
    const bytes = c.readableBytes - REQ.SIZE;
    const count = bytes / SEG.SIZE;
    if (this.readOnly || this.transport?.hasFeature(feature) !== true) {
      req.status = this.readOnly ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_UNSUPP;
      return;
    }
    if (bytes === 0 || bytes % SEG.SIZE !== 0 || count > MAX_RANGE_SEGMENTS) {
      req.status = VIRTIO_BLK_S_IOERR;
      return;
    }
    for (let k = 0; k < count; k++) {
      const status = this.checkSegment(req, k, zeroes);
      if (status !== VIRTIO_BLK_S_OK) {
        req.status = status;
        return;
      }
    }
    if (!zeroes) return;
    for (let k = 0; k < count; k++) {
      c.read(this.seg, REQ.SIZE + k * SEG.SIZE);
      const pos = this.segmentPosition();
      this.backend.writeZeroes(pos, this.segView.getUint32(SEG.num_sectors.offset, true) * SECTOR, req);
    }
  }

  /** Reads segment `k` into `seg` and checks it (5.2.6.2): VIRTIO_BLK_S_OK, IOERR or UNSUPP. */
  private checkSegment(req: BlockRequest, k: number, zeroes: boolean): number {
    req.chain.read(this.seg, REQ.SIZE + k * SEG.SIZE);
    const flags = this.segView.getUint32(SEG.flags.offset, true);
    if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) !== 0) return VIRTIO_BLK_S_UNSUPP;
    if (!zeroes && flags !== 0) return VIRTIO_BLK_S_UNSUPP;
    const n = this.segView.getUint32(SEG.num_sectors.offset, true);
    if (n > MAX_RANGE_SECTORS) return VIRTIO_BLK_S_IOERR;
    return this.segmentPosition() < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
  }

  /** Byte position of the segment in `seg`, or -1 when it leaves the disk. */
  private segmentPosition(): number {
    const v = this.segView;
    return this.position(v.getUint32(SEG.sector.offset, true), v.getUint32(SEG.sector.offset + 4, true), v.getUint32(SEG.num_sectors.offset, true) * SECTOR);
  }

  /** Byte position of sector (hi·2^32 + lo) when `bytes` whole sectors from it lie on the disk, else -1. */
  private position(lo: number, hi: number, bytes: number): number {
    if (bytes % SECTOR !== 0 || hi >= SECTOR_HI_LIMIT) return -1;
    const sector = hi * TWO_POW_32 + lo;
    if (sector > this.sectors || bytes / SECTOR > this.sectors - sector) return -1;
    return sector * SECTOR;
  }

  /** Writes the status byte and returns the chain used. */
  private complete(pool: RequestPool, req: BlockRequest): void {
    let status = req.status;
    if (status === VIRTIO_BLK_S_OK && (req.error !== null || req.moved < req.expected)) status = VIRTIO_BLK_S_IOERR;
    if (status === VIRTIO_BLK_S_IOERR) this.stats.ioErrors++;
    else if (status === VIRTIO_BLK_S_UNSUPP) this.stats.unsupported++;
    if (req.error !== null) this.transport?.log(`host I/O error: ${req.error.message}`);
    this.mem[req.statusAddr] = status;
    pool.headBusy[req.head] = 0;
    // As QEMU: the used length covers the whole writable part, ending with the status byte.
    pool.queue.pushUsed(req.head, req.chain.writableBytes);
    pool.give(req);
  }

  /** A request the device cannot answer: DEVICE_NEEDS_RESET, and nothing more until the driver resets. */
  private fail(reason: string): void {
    this.broken = true;
    this.transport?.needsReset(reason);
  }
}

/**
 * A virtio-blk device on the MMIO bus over `backend`. Closing it waits for
 * requests in flight, then closes the backend.
 */
export function createBlockDevice(backend: BlockBackend, wiring: DeviceWiring, options: BlockDeviceOptions = {}): { device: VirtioMmioDevice; model: BlockModel } {
  const model = new BlockModel(backend, wiring.memory, options);
  const device = new VirtioMmioDevice('block', model, wiring, {
    ...(options.eventIdx === undefined ? {} : { eventIdx: options.eventIdx }),
    close: async () => {
      await model.quiesce();
      await backend.close();
    },
  });
  return { device, model };
}
