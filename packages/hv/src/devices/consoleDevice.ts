/**
 * virtio-console (virtio 1.x section 5.3), single port, on the host's stdio:
 * what the guest puts on transmitq0 goes to the machine's console output;
 * host input fills the buffers the guest posts on receiveq0. Register access
 * and ring validation are the virtio package's MmioTransportDevice and
 * VirtqueueDevice; this file is only the console's behaviour.
 */
import type { Readable } from 'node:stream';
import {
  VIRTIO_CONSOLE_RECEIVEQ,
  VIRTIO_CONSOLE_TRANSMITQ,
  VIRTIO_ID_CONSOLE,
} from '@osv-ts/virtio';
import {
  MmioTransportDevice,
  VIRTQ_EMPTY,
  type SharedWord,
  type VirtioDeviceModel,
  type VirtioTransport,
  type VirtqueueDevice,
} from '@osv-ts/virtio/device';
import type { MmioDevice } from '../mmioBus.js';

/** Queue size the console offers, descriptors per queue. */
const CONSOLE_QUEUE_MAX = 256;
/** Input held while the guest has no receive buffers posted, bytes; older input is dropped beyond it. */
const MAX_PENDING_INPUT = 1 << 20;

class ConsoleModel implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_CONSOLE;
  /** No console feature bits (the transport adds VERSION_1 and the ring features). */
  readonly features = 0n;
  readonly queueCount = 2;
  private transport: VirtioTransport | undefined;
  private scratch = Buffer.allocUnsafe(4096);
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly output: (bytes: Uint8Array) => void) {}

  attach(transport: VirtioTransport): void {
    this.transport = transport;
  }

  queueMaxSize(): number {
    return CONSOLE_QUEUE_MAX;
  }

  configRead(): number {
    // Neither F_SIZE nor MULTIPORT nor EMERG_WRITE is offered: every config field reads as zero.
    return 0;
  }

  queueNotify(index: number, q: VirtqueueDevice): void {
    if (index === VIRTIO_CONSOLE_TRANSMITQ) this.transmit(q);
    else if (index === VIRTIO_CONSOLE_RECEIVEQ) this.deliver();
  }

  reset(): void {
    // Nothing in flight survives a reset; pending host input waits for new buffers.
  }

  /** Host input arrived. */
  input(bytes: Buffer): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    while (this.pendingBytes > MAX_PENDING_INPUT && this.pending.length > 1) this.pendingBytes -= this.pending.shift()!.length;
    this.deliver();
  }

  private transmit(q: VirtqueueDevice): void {
    const chain = q.chain;
    for (let head = q.pop(); head !== VIRTQ_EMPTY && head >= 0; head = q.pop()) {
      const n = chain.readableBytes;
      if (n > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(n, this.scratch.length * 2));
      const got = chain.read(this.scratch.subarray(0, n));
      // Copy: the output stream may keep the chunk after we reuse the scratch buffer.
      this.output(Buffer.from(this.scratch.subarray(0, got)));
      q.pushUsed(head, 0);
    }
    this.transport?.flush(VIRTIO_CONSOLE_TRANSMITQ);
  }

  private deliver(): void {
    const q = this.transport?.queue(VIRTIO_CONSOLE_RECEIVEQ);
    if (!q || this.pending.length === 0) return;
    const chain = q.chain;
    let any = false;
    while (this.pending.length > 0) {
      const head = q.pop();
      if (head < 0) break;
      let written = 0;
      while (this.pending.length > 0 && written < chain.writableBytes) {
        const first = this.pending[0]!;
        const n = chain.write(first, written);
        written += n;
        if (n === first.length) this.pending.shift();
        else this.pending[0] = first.subarray(n);
        this.pendingBytes -= n;
        if (n === 0) break;
      }
      q.pushUsed(head, written);
      any = true;
    }
    if (any) this.transport?.flush(VIRTIO_CONSOLE_RECEIVEQ);
  }
}

/** The console device on the MMIO bus. */
export class ConsoleDevice implements MmioDevice {
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly kind = 'console';
  private readonly model: ConsoleModel;
  private readonly transport: MmioTransportDevice;
  private readonly onData: ((b: Buffer) => void) | undefined;

  constructor(
    memory: SharedArrayBuffer,
    raiseIrq: () => void,
    output: (bytes: Uint8Array) => void,
    private readonly input: Readable | undefined,
    log: (message: string) => void,
    interruptStatus?: SharedWord,
  ) {
    this.model = new ConsoleModel(output);
    this.transport = new MmioTransportDevice(
      memory,
      this.model,
      { raiseInterrupt: raiseIrq, log: (m: string) => log(`console: ${m}`) },
      interruptStatus === undefined ? {} : { interruptStatusWord: interruptStatus },
    );
    if (input) {
      this.onData = (b: Buffer) => this.model.input(b);
      input.on('data', this.onData);
    }
  }

  read(offset: number, size: number): number {
    return this.transport.read(offset, size);
  }

  write(offset: number, size: number, value: number): void {
    this.transport.write(offset, size, value);
  }

  close(): void {
    if (this.input && this.onData) {
      this.input.off('data', this.onData);
      this.input.pause();
    }
  }
}
