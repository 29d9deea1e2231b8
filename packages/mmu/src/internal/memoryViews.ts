/**
 * One vCPU's views of guest physical memory and the word indices of mmu's
 * shared state in it. Created once per vCPU; every mmu component of that vCPU
 * shares the object. Only typed-array views over the SharedArrayBuffer: no JS
 * object here is shared with another vCPU.
 */
import { CPU_BLOCK_WORDS, MMU_HEADER_LAYOUT, W } from './sharedLayout.js';
import type { LockWaiter } from './spinLock.js';

/** Largest guest memory mmu supports: physical addresses must fit in 32 bits. */
export const MAX_PHYS_BYTES = 2 ** 32;

/** Views and indices for one vCPU. */
export class MemoryViews {
  /** The guest's physical memory. */
  readonly buffer: SharedArrayBuffer;
  /** Bytes of it (a multiple of 4096, at most MAX_PHYS_BYTES). */
  readonly bytes: number;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly dv: DataView;
  /** Physical address of the header. */
  readonly stateAddr: number;
  /** Word index of the header. */
  readonly hdr: number;
  /** This vCPU's index. */
  readonly cpu: number;
  /** Word index of this vCPU's block. */
  readonly cpuBlock: number;
  /** Word index of the frame table (valid once formatted). */
  frames = 0;
  /** What lock waiters do while they wait (set by the TLB once it exists). */
  waiter: LockWaiter = { whileWaiting() {} };

  constructor(buffer: SharedArrayBuffer, stateAddr: number, cpu: number) {
    this.buffer = buffer;
    this.bytes = buffer.byteLength;
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer, 0, this.bytes >>> 2);
    this.f64 = new Float64Array(buffer, 0, this.bytes >>> 3);
    this.dv = new DataView(buffer);
    this.stateAddr = stateAddr;
    this.hdr = stateAddr >>> 2;
    this.cpu = cpu;
    this.cpuBlock = this.cpuBlockOf(cpu);
  }

  /** Word index of vCPU `cpu`'s block. */
  cpuBlockOf(cpu: number): number {
    return this.hdr + MMU_HEADER_LAYOUT.SIZE / 4 + cpu * CPU_BLOCK_WORDS;
  }

  /** Reads header word `w` (a W.* index). */
  h(w: number): number {
    return this.i32[this.hdr + w]!;
  }

  /** Atomically adds `delta` to header word `w`; returns the old value. */
  hadd(w: number, delta: number): number {
    return Atomics.add(this.i32, this.hdr + w, delta);
  }

  /** Bumps a statistics counter. */
  stat(w: number, delta: number): void {
    Atomics.add(this.i32, this.hdr + w, delta);
  }

  /**
   * Zeroes `bytes` at physical `pa` (both multiples of 8). Float64Array.fill:
   * on a SharedArrayBuffer Uint8Array.fill is about 5x slower.
   */
  zero(pa: number, bytes: number): void {
    this.f64.fill(0, pa / 8, (pa + bytes) / 8);
  }

  /** Word index of header field FREE_PAGES etc., absolute. */
  abs(w: number): number {
    return this.hdr + w;
  }
}

/** Header word index of FREE_PAGES, for hot code. */
export const W_FREE_PAGES = W.FREE_PAGES;
