/**
 * Where the driver side gets memory the device can reach: the kernel's
 * physical allocator. Called only at queue setup, never on a hot path.
 */
export interface DmaAllocator {
  /**
   * Allocates `bytes` bytes of guest physical memory aligned to `align` (a
   * power of two) and returns the physical address (byte offset in guest
   * memory). The contents need not be zeroed.
   * @throws when memory is exhausted (the virtio driver wraps it in a VirtioError ENOMEM)
   */
  alloc(bytes: number, align: number): number;
  /** Gives back an allocation; optional (queues are usually kept for the machine's life). */
  free?(addr: number, bytes: number): void;
}
