/**
 * Test support: a BlockBackend over a byte array. In `immediate` mode every
 * operation completes synchronously; in `deferred` mode operations wait
 * until the test completes them (in any order it likes), which is how tests
 * and the fuzzer exercise out-of-order completion, many requests in flight
 * and completions that arrive after a device reset. Reads and writes happen
 * when an operation completes, as a DMA engine would move the data.
 */
import type { BlockBackend, BlockIoTarget } from '../devices/blockBackend.js';

interface PendingOp {
  readonly run: () => number;
  readonly io: BlockIoTarget;
}

/** An in-memory disk. */
export class MemoryBlockBackend implements BlockBackend {
  readonly size: number;
  readonly data: Uint8Array;
  flushes = 0;
  writes = 0;
  /** When set, every operation fails with this errno code. */
  failWith: string | null = null;
  private readonly pending: PendingOp[] = [];

  constructor(
    size: number,
    readonly writable = true,
    readonly serial = 'memdisk',
    private readonly mode: 'immediate' | 'deferred' = 'immediate',
  ) {
    this.size = size;
    this.data = new Uint8Array(size);
  }

  /** Operations waiting (deferred mode). */
  get waiting(): number {
    return this.pending.length;
  }

  read(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    this.op(io, () => {
      mem.set(this.data.subarray(position, position + length), memOffset);
      return length;
    });
  }

  write(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    this.op(io, () => {
      this.writes++;
      this.data.set(mem.subarray(memOffset, memOffset + length), position);
      return length;
    });
  }

  writeZeroes(position: number, length: number, io: BlockIoTarget): void {
    this.op(io, () => {
      this.data.fill(0, position, position + length);
      return 0;
    });
  }

  flush(io: BlockIoTarget): void {
    this.op(io, () => {
      this.flushes++;
      return 0;
    });
  }

  /** Completes the waiting operation at `index` (default the oldest); false when none waits. */
  completeOne(index = 0): boolean {
    const [op] = this.pending.splice(index, 1);
    if (!op) return false;
    this.finish(op);
    return true;
  }

  /** Completes every waiting operation, newest first (the reverse of submission). */
  completeAllReversed(): void {
    while (this.pending.length > 0) this.completeOne(this.pending.length - 1);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private op(io: BlockIoTarget, run: () => number): void {
    io.addPart();
    const op = { run, io };
    if (this.mode === 'deferred') this.pending.push(op);
    else this.finish(op);
  }

  private finish(op: PendingOp): void {
    if (this.failWith !== null) {
      const e = Object.assign(new Error(`test backend: ${this.failWith}`), { code: this.failWith }) as NodeJS.ErrnoException;
      op.io.partDone(e, 0);
      return;
    }
    op.io.partDone(null, op.run());
  }
}
