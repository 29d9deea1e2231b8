/**
 * The one way osv-ts declares a binary layout: a table of named fields with
 * byte offsets and sizes, laid out back to back in the order given. Hot paths
 * take offsets from these tables (`LAYOUT.field.offset`), never retyped numbers.
 */

/** A field of a binary layout: byte offset and size within its structure. */
export interface Field {
  /** Offset from the start of the structure, bytes. */
  readonly offset: number;
  /** Size, bytes. */
  readonly size: number;
}

/** A layout table: one Field per name, plus SIZE, the whole structure's size in bytes. */
export type Layout<N extends string> = { readonly [K in N]: Field } & { readonly SIZE: number };

/**
 * Builds a layout table from `[name, size]` pairs laid out back to back, with
 * no implicit padding (write padding as a named field). Used for every
 * structure the spec or our own contracts fix in memory, on disk or on the wire.
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
