/**
 * What mmu needs from outside, as small interfaces the kernel (or a test)
 * implements. mmu imports no other osv-ts package.
 */

/** A range of free physical RAM from the boot memory map, bytes. */
export interface PhysRange {
  /** First byte (physical). */
  readonly base: number;
  /** Length, bytes. */
  readonly length: number;
}

/**
 * Interrupts another vCPU so that it runs its TLB-shootdown service
 * (`Mmu.serviceTlbShootdown()`) soon. On the hv this sets IRQ_IPI_TLB in the
 * target's IRQ_PENDING word and notifies its WAKE word; mmu itself waits for
 * the acknowledgement in shared memory. Must not block.
 */
export interface TlbIpi {
  /** Sends the shootdown interrupt to vCPU `cpu`. */
  sendTlbShootdown(cpu: number): void;
}

/**
 * Pages of files for file-backed mappings (zfs-lite implements it over its
 * ARC; InMemoryPageProvider is a simple one for tests). Files are named by a
 * number the kernel chooses (like a file descriptor's open-file id). Frames
 * handed to mmu must come from this mmu's page allocator (`PhysicalPages`),
 * of kind "file"; the provider keeps its own reference and mmu takes one per
 * mapping, so a page stays alive while mapped. Called with the address-space
 * lock held: a provider may use the page allocator but must not call mmap and
 * friends. Every vCPU has its own provider object over the same shared data.
 */
export interface PageProvider {
  /** Size of file `file`, bytes, or a negative errno if there is no such file. */
  fileSize(file: number): number;
  /**
   * Physical address of a page frame holding the file's bytes [offset,
   * offset + 4096) (zeros past the end of file), or a negative errno.
   * `offset` is page aligned.
   */
  getPage(file: number, offset: number): number;
  /** Writes the frame at `phys` back as the file's page at `offset` (msync); 0 or a negative errno. */
  writePage(file: number, offset: number, phys: number): number;
}

/**
 * A shrinker: asked to give back about `targetBytes` of memory; `hard` is true
 * when an allocation is blocked waiting for it. Returns the bytes it freed.
 * Runs on the vCPU that registered it, outside every mmu lock.
 */
export type ShrinkerFn = (targetBytes: number, hard: boolean) => number;
