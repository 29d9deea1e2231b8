/**
 * mmu's own way to declare binary layouts (mmu depends on no other osv-ts
 * package, so this mirrors the project's `packed()` rather than importing it):
 * byte-granular structures as tables of {offset, size}, and 64-bit bit-field
 * words as tables of {word, shift, width, mask}. Hot paths derive their offsets
 * and masks from these tables once, at module load.
 */

/** A field of a structure: byte offset and size within it. */
export interface Field {
  /** Offset from the start of the structure, bytes. */
  readonly offset: number;
  /** Size, bytes. */
  readonly size: number;
}

/** A structure layout: one Field per name, plus SIZE in bytes. */
export type Layout<N extends string> = { readonly [K in N]: Field } & { readonly SIZE: number };

/**
 * Lays `[name, bytes]` pairs out back to back, with no implicit padding (write
 * padding as a named field). Throws TypeError on a duplicate name or one
 * named SIZE (the table's own total).
 */
export function struct<const N extends string>(fields: readonly (readonly [N, number])[]): Layout<N> {
  const out: Record<string, Field | number> = {};
  let offset = 0;
  for (const [name, size] of fields) {
    if (name in out || name === 'SIZE') throw new TypeError(`layout field '${name}' declared twice or named SIZE`);
    out[name] = Object.freeze({ offset, size });
    offset += size;
  }
  out['SIZE'] = offset;
  return Object.freeze(out) as Layout<N>;
}

/** A bit field of a little-endian 64-bit word kept as two 32-bit halves. */
export interface BitField {
  /** Which half holds it: 0 = bits 0..31, 1 = bits 32..63. */
  readonly word: 0 | 1;
  /** First bit within that half. */
  readonly shift: number;
  /** Width, bits. */
  readonly width: number;
  /** The field's bits within its half, as an int32 (ready for `&` and `|`). */
  readonly mask: number;
}

/** A bit layout: one BitField per name. */
export type BitLayout<N extends string> = { readonly [K in N]: BitField };

/**
 * Declares the fields of a 64-bit word from `[name, firstBit, width]` triples
 * (bit numbers 0..63 as the manual gives them). A field may not straddle the
 * 32-bit halves: split it (ADDR_LO / ADDR_HI) as the two-halves rule asks.
 * Throws TypeError on overlap, straddling or a duplicate name.
 */
export function bits64<const N extends string>(fields: readonly (readonly [N, number, number])[]): BitLayout<N> {
  const out: Record<string, BitField> = {};
  const used = [0, 0];
  for (const [name, first, width] of fields) {
    if (name in out) throw new TypeError(`bit field '${name}' declared twice`);
    const word = first >= 32 ? 1 : 0;
    const shift = first - word * 32;
    if (width < 1 || shift + width > 32) throw new TypeError(`bit field '${name}' straddles a 32-bit half`);
    const mask = (width === 32 ? -1 : ((2 ** width - 1) * 2 ** shift) | 0) | 0;
    if ((used[word]! & mask) !== 0) throw new TypeError(`bit field '${name}' overlaps another`);
    used[word] = used[word]! | mask;
    out[name] = Object.freeze({ word, shift, width, mask });
  }
  return Object.freeze(out) as BitLayout<N>;
}
