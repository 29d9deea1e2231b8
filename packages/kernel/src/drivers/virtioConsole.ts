/**
 * The virtio-console driver (virtio 1.x section 5.3), single port, output
 * only for now. Console text is encoded straight into a ring of transmit
 * buffers in guest memory; each write hands its buffers to the device with one
 * posted QueueNotify. Completed buffers are reclaimed by polling the used ring
 * (transmit interrupts are switched off: nothing waits for them).
 */
import { VIRTIO_CONSOLE_RECEIVEQ, VIRTIO_CONSOLE_TRANSMITQ, VIRTIO_F_EVENT_IDX, featureBit } from '@osv-ts/virtio';
import { VIRTQ_NONE, type DmaAllocator, type VirtioMmioDriver, type VirtqueueDriver } from '@osv-ts/virtio/driver';
import type { ConsoleSink } from '../console/kernelConsole.js';
import { encodeUtf8Into } from '../console/utf8Out.js';

/** Transmit buffers and their size, bytes: 16 × 4 KiB in flight at most. */
const TX_BUFFERS = 16;
const TX_BUFFER_BYTES = 4096;
/** Spins between looks at the used ring while every buffer is in flight. */
const RECLAIM_SPINS = 1000;

/** A console sink on a virtio-console device. */
export class VirtioConsole implements ConsoleSink {
  private readonly tx: VirtqueueDriver;
  private readonly bufAddr: number;
  private readonly bufs: Uint8Array[] = [];
  private readonly free: number[] = [];
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));

  /** Initialises the device (feature negotiation, queues, DRIVER_OK). Throws VirtioError if it refuses. */
  constructor(
    private readonly dev: VirtioMmioDriver,
    memory: SharedArrayBuffer,
    dma: DmaAllocator,
  ) {
    dev.probe();
    dev.negotiate(featureBit(VIRTIO_F_EVENT_IDX));
    dev.createQueue(VIRTIO_CONSOLE_RECEIVEQ, memory, dma, { maxSize: 16 });
    this.tx = dev.createQueue(VIRTIO_CONSOLE_TRANSMITQ, memory, dma, { maxSize: 2 * TX_BUFFERS });
    this.tx.disableInterrupts();
    dev.driverOk();
    this.bufAddr = dma.alloc(TX_BUFFERS * TX_BUFFER_BYTES, 4096);
    for (let i = 0; i < TX_BUFFERS; i++) {
      this.bufs.push(new Uint8Array(memory, this.bufAddr + i * TX_BUFFER_BYTES, TX_BUFFER_BYTES));
      this.free.push(i);
    }
  }

  write(text: string): void {
    let from = 0;
    let queued = false;
    while (from < text.length) {
      const i = this.takeBuffer(queued);
      const { read, written } = encodeUtf8Into(text, from, this.bufs[i]!);
      from += read;
      this.tx.add(this.bufAddr + i * TX_BUFFER_BYTES, written, false, i);
      queued = true;
    }
    if (queued) this.dev.kick(VIRTIO_CONSOLE_TRANSMITQ);
  }

  /** A free transmit buffer, reclaiming completed ones and waiting for the device if all are in flight. */
  private takeBuffer(queued: boolean): number {
    for (;;) {
      for (let t = this.tx.getUsed(); t !== VIRTQ_NONE; t = this.tx.getUsed()) this.free.push(t);
      const i = this.free.pop();
      if (i !== undefined) return i;
      // All in flight: make sure the device has been told, then give it time.
      if (queued) this.dev.kick(VIRTIO_CONSOLE_TRANSMITQ);
      for (let s = 0; s < RECLAIM_SPINS && !this.tx.hasUsed(); s++);
      if (!this.tx.hasUsed()) Atomics.wait(this.pause, 0, 0, 0.05);
    }
  }
}
