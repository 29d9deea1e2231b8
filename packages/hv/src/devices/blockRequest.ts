/**
 * One virtio-blk request in flight on the device side, and the pool they come
 * from. A pool belongs to one live queue: it is built when the driver makes
 * the queue ready (setup time, so the hot path allocates nothing) with one
 * request per descriptor of the queue, each with its own DescriptorChain so
 * requests can complete out of order. After a device reset the old pool's
 * requests still finish their host I/O, but the model recognises them as
 * stale and touches neither guest memory nor the rings.
 */
import type { DescriptorChain, VirtqueueDevice } from '@osv-ts/virtio/device';
import type { BlockIoTarget, IoCallback } from './blockBackend.js';

/** Who is told when a request's last host operation ends. */
export interface RequestOwner {
  requestDone(req: BlockRequest): void;
}

/** A request slot: its chain, its decoded header, and its completion count. */
export class BlockRequest implements BlockIoTarget {
  /** Segments of the request's descriptor chain (filled by pop). */
  readonly chain: DescriptorChain;
  /** The pool this request belongs to (the queue generation). */
  readonly pool: RequestPool;
  readonly partDone: IoCallback;
  /** Head descriptor id, for pushUsed. */
  head = -1;
  /** VIRTIO_BLK_T_* from the header. */
  type = 0;
  /** Guest physical address of the status byte (the chain's last writable byte). */
  statusAddr = 0;
  /** VIRTIO_BLK_S_* decided before or during the I/O. */
  status = 0;
  /** Bytes the data operations must move (IN and OUT); fewer is an I/O error. */
  expected = 0;
  /** Bytes the data operations moved. */
  moved = 0;
  /** First host error, if any. */
  error: NodeJS.ErrnoException | null = null;
  /** OUT without a negotiated FLUSH: make the data stable before completing (virtio 5.2.6.2). */
  writeThrough = false;
  private parts = 0;

  constructor(chain: DescriptorChain, pool: RequestPool, owner: RequestOwner) {
    this.chain = chain;
    this.pool = pool;
    this.partDone = (err, bytes) => {
      if (err && !this.error) this.error = err;
      if (bytes > 0) this.moved += bytes;
      if (--this.parts === 0) owner.requestDone(this);
    };
  }

  addPart(): void {
    this.parts++;
  }

  /** Clears the per-request state for chain `head` (the chain itself was filled by pop). */
  begin(head: number): void {
    this.head = head;
    this.type = 0;
    this.status = 0;
    this.expected = 0;
    this.moved = 0;
    this.error = null;
    this.writeThrough = false;
    this.parts = 0;
  }
}

/** The free requests of one live queue, and which heads are in flight on it. */
export class RequestPool {
  private readonly free: BlockRequest[] = [];
  /** 1 while the chain with that head id is in flight: a guest that makes a head available twice is caught. */
  readonly headBusy: Uint8Array;

  constructor(
    readonly queue: VirtqueueDevice,
    owner: RequestOwner,
  ) {
    this.headBusy = new Uint8Array(queue.size);
    for (let i = 0; i < queue.size; i++) this.free.push(new BlockRequest(queue.createChain(), this, owner));
  }

  /** A free request, or undefined when every one is in flight. */
  take(): BlockRequest | undefined {
    return this.free.pop();
  }

  /** Returns a request to the pool. */
  give(req: BlockRequest): void {
    this.free.push(req);
  }

  /** Whether a request is free. */
  get hasFree(): boolean {
    return this.free.length > 0;
  }
}
