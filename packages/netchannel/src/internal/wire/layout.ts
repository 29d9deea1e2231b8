/**
 * netchannel's own binary-layout helper (the package may not import
 * @osv-ts/virtio's `packed()`, so it keeps an equivalent): a table of named
 * fields laid out back to back. Every wire header is declared once with it and
 * hot paths take offsets from the table, never retyped numbers.
 */

/** A field of a binary layout: byte offset and size within its structure. */
export interface Field {
  /** Offset from the start of the structure, bytes. */
  readonly offset: number;
  /** Size, bytes. */
  readonly size: number;
}

/** A layout table: one Field per name, plus SIZE, the structure's size in bytes. */
export type Layout<N extends string> = { readonly [K in N]: Field } & { readonly SIZE: number };

/**
 * Builds a layout table from `[name, size]` pairs laid out back to back with no
 * implicit padding. Throws TypeError when a name repeats (a typo in a table).
 */
export function packed<const N extends string>(fields: readonly (readonly [N, number])[]): Layout<N> {
  const out: Record<string, Field | number> = {};
  let offset = 0;
  for (const [name, size] of fields) {
    if (name in out) throw new TypeError(`layout field '${name}' declared twice`);
    out[name] = Object.freeze({ offset, size });
    offset += size;
  }
  out['SIZE'] = offset;
  return Object.freeze(out) as Layout<N>;
}
