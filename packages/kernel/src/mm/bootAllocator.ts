/**
 * The boot-time physical allocator: hands out aligned ranges of free RAM from
 * the boot memory map, front to back, and never frees. The kernel uses it for
 * memory that lives as long as the machine (virtqueue rings, driver buffers)
 * until the mmu package's page allocator takes over the rest of RAM.
 */
import { KernelError } from '../errors.js';
import type { MemoryRange } from '../arch/bootInfo.js';

/** A bump allocator over free physical memory ranges. */
export class BootAllocator {
  private readonly ranges: MemoryRange[];
  private index = 0;
  private next: number;
  private retired = false;

  constructor(free: readonly MemoryRange[]) {
    this.ranges = free.filter((r) => r.length > 0).map((r) => ({ ...r }));
    this.next = this.ranges[0]?.base ?? 0;
  }

  /**
   * Returns the physical address of `bytes` bytes aligned to `align` (a power
   * of two). The memory is zero: the hv zeroes RAM and nothing reuses it.
   * Throws KernelError ENOMEM when no range has room.
   */
  alloc(bytes: number, align: number): number {
    if (this.retired) throw new KernelError('EINVAL', 'boot allocator: memory was handed to the mmu; allocate from it instead');
    if (!(bytes > 0) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new KernelError('EINVAL', `boot allocator: bad request of ${bytes} bytes aligned to ${align}`);
    }
    while (this.index < this.ranges.length) {
      const r = this.ranges[this.index]!;
      const start = Math.ceil(this.next / align) * align;
      if (start + bytes <= r.base + r.length) {
        this.next = start + bytes;
        return start;
      }
      this.index++;
      this.next = this.ranges[this.index]?.base ?? 0;
    }
    throw new KernelError('ENOMEM', `boot allocator: out of memory allocating ${bytes} bytes`);
  }

  /** What is left; afterwards alloc() refuses (the page allocator owns it). */
  handOver(): MemoryRange[] {
    const left = this.remaining();
    this.retired = true;
    return left;
  }

  /** What is left, for handing over to the page allocator. */
  remaining(): MemoryRange[] {
    const out: MemoryRange[] = [];
    for (let i = this.index; i < this.ranges.length; i++) {
      const r = this.ranges[i]!;
      const base = i === this.index ? this.next : r.base;
      const end = r.base + r.length;
      if (end > base) out.push({ base, length: end - base });
    }
    return out;
  }
}
