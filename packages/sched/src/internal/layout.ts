/**
 * sched's layout helper: the one way this package declares a shared-memory
 * structure. Like `packed()` in @osv-ts/virtio, but sizes and offsets are in
 * 32-bit words, because every structure here is read through an Int32Array
 * with Atomics. (sched depends on no other osv-ts package, so it keeps its own
 * copy of this ten-line idea.)
 */

/** A field of a word layout: offset and size in 32-bit words. */
export interface WordField {
  /** Offset from the start of the structure, words. */
  readonly offset: number;
  /** Size, words. */
  readonly size: number;
}

/** A word layout table: one field per name, plus SIZE in words. */
export type WordLayout<N extends string> = { readonly [K in N]: WordField } & { readonly SIZE: number };

/**
 * Builds a layout from `[name, words]` pairs laid out back to back with no
 * implicit padding; `alignTo` rounds SIZE up (use 16 to keep each record on its
 * own 64-byte cache line). Throws TypeError on a duplicate name.
 */
export function wordLayout<const N extends string>(
  fields: readonly (readonly [N, number])[],
  alignTo = 1,
): WordLayout<N> {
  const out: Record<string, WordField | number> = {};
  let offset = 0;
  for (const [name, size] of fields) {
    if (name in out) throw new TypeError(`layout field '${name}' declared twice`);
    out[name] = Object.freeze({ offset, size });
    offset += size;
  }
  out['SIZE'] = Math.ceil(offset / alignTo) * alignTo;
  return Object.freeze(out) as WordLayout<N>;
}
