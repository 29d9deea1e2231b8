/**
 * The virtio-rng driver (virtio-v1.2 section 5.4): feeds the kernel's random
 * generator from the host. At boot it asks for SEED_BYTES and waits for them
 * (the generator must be seeded before any program runs); afterwards one
 * request stays posted, and every time the generator is used the driver
 * checks (one memory load, no VM exit) whether fresh bytes came back, mixes
 * them in and posts the next request. Reseeding thus follows use without a
 * timer or a thread.
 */
import { VIRTIO_ENTROPY_REQUESTQ, VIRTIO_F_EVENT_IDX, featureBit } from '@osv-ts/virtio';
import { VIRTQ_NONE, type DmaAllocator, type VirtioMmioDriver, type VirtqueueDriver } from '@osv-ts/virtio/driver';
import type { IoSource, IoWait } from './ioWait.js';
import type { RandomGenerator } from './randomGenerator.js';

/** Bytes asked for per request. */
export const SEED_BYTES = 64;
/** How long boot waits for the first seed, ms. */
const SEED_TIMEOUT_MS = 2000;

/** A virtio-rng device feeding a RandomGenerator. */
export class VirtioRng implements IoSource {
  readonly irq: number;
  private readonly vq: VirtqueueDriver;
  private readonly bufAddr: number;
  private readonly buf: Uint8Array;
  private pending = false;
  private waiting = false;

  /** @throws VirtioError when the device refuses initialisation */
  constructor(
    private readonly dev: VirtioMmioDriver,
    memory: SharedArrayBuffer,
    dma: DmaAllocator,
    private readonly io: IoWait,
    irq: number,
    private readonly generator: RandomGenerator,
  ) {
    this.irq = irq;
    dev.probe();
    dev.negotiate(featureBit(VIRTIO_F_EVENT_IDX));
    this.vq = dev.createQueue(VIRTIO_ENTROPY_REQUESTQ, memory, dma, { maxSize: 4 });
    dev.driverOk();
    this.bufAddr = dma.alloc(SEED_BYTES, SEED_BYTES);
    this.buf = new Uint8Array(memory, this.bufAddr, SEED_BYTES);
    io.add(this);
  }

  /** Seeds the generator at boot, blocking until the device answers; false when it never did. */
  seed(): boolean {
    this.post();
    this.waiting = true;
    const ok = this.io.waitSync(() => this.vq.hasUsed(), SEED_TIMEOUT_MS);
    this.waiting = false;
    this.refresh();
    return ok;
  }

  /** Mixes in fresh device bytes if a request completed, and posts the next one. Cheap: call it on every use. */
  refresh(): void {
    if (!this.pending || !this.vq.hasUsed()) return;
    const t = this.vq.getUsed();
    if (t === VIRTQ_NONE) return;
    this.pending = false;
    const n = t >= 0 ? Math.min(this.vq.usedLength, SEED_BYTES) : 0;
    if (n > 0) this.generator.reseed(this.buf.subarray(0, n), 'virtio-rng');
    this.buf.fill(0);
    if (t >= 0) this.post();
  }

  busy(): boolean {
    return this.waiting;
  }

  poll(): number {
    return 0;
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
    this.dev.ackInterrupt();
  }

  private post(): void {
    if (this.pending) return;
    if (this.vq.add(this.bufAddr, SEED_BYTES, true, 0) < 0) return;
    this.pending = true;
    this.dev.kick(VIRTIO_ENTROPY_REQUESTQ);
  }
}
