/** Longest copy done with a plain loop, bytes; longer ones use one subarray view. */
const COPY_LOOP_MAX = 64;

/**
 * Copies `n` bytes between two byte arrays (guest memory and a host buffer).
 * Up to COPY_LOOP_MAX bytes a plain loop, which allocates nothing; above it
 * one short-lived subarray view, whose cost the copy itself dwarfs. The caller
 * has checked both ranges.
 */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  if (n <= COPY_LOOP_MAX) {
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
  } else {
    dst.set(src.subarray(srcOff, srcOff + n), dstOff);
  }
}
