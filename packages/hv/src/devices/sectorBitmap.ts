/**
 * One bit per 512-byte sector: which sectors a copy-on-write overlay holds.
 * Bit s is bit (s & 7) of byte s >> 3. Pages of the bitmap changed since the
 * last save are tracked so a file overlay writes back only those.
 */

/** Bytes of bitmap per tracked page (4 KiB of bitmap covers 16 MiB of disk). */
export const BITMAP_PAGE = 4096;

/** A sector presence bitmap. */
export class SectorBitmap {
  /** The bits; its length is a whole number of BITMAP_PAGE pages. */
  readonly bits: Uint8Array;
  /** Sectors covered. */
  readonly sectors: number;
  private readonly dirty: Uint8Array;
  private anyDirty = false;

  /** A bitmap for `sectors` sectors, all clear, or over `bits` when given (loaded from a file). */
  constructor(sectors: number, bits?: Uint8Array) {
    this.sectors = sectors;
    const bytes = Math.ceil(Math.ceil(sectors / 8) / BITMAP_PAGE) * BITMAP_PAGE;
    this.bits = bits ?? new Uint8Array(bytes);
    this.dirty = new Uint8Array(bytes / BITMAP_PAGE);
  }

  /** Bytes of bitmap storage for `sectors` sectors (whole pages). */
  static bytesFor(sectors: number): number {
    return Math.ceil(Math.ceil(sectors / 8) / BITMAP_PAGE) * BITMAP_PAGE;
  }

  /** Whether sector `s` is present. */
  has(s: number): boolean {
    return ((this.bits[s >>> 3]! >>> (s & 7)) & 1) === 1;
  }

  /** Marks sectors [from, to) present. */
  setRange(from: number, to: number): void {
    for (let s = from; s < to; s++) {
      const byte = s >>> 3;
      const v = this.bits[byte]!;
      const nv = v | (1 << (s & 7));
      if (nv !== v) {
        this.bits[byte] = nv;
        this.dirty[(byte / BITMAP_PAGE) | 0] = 1;
        this.anyDirty = true;
      }
    }
  }

  /** The end of the run of sectors starting at `from` that share its presence, at most `limit`. */
  runEnd(from: number, limit: number): number {
    const present = this.has(from);
    let s = from + 1;
    while (s < limit && this.has(s) === present) s++;
    return s;
  }

  /** Calls `save(pageIndex)` for every page changed since the last call, then forgets them. */
  takeDirtyPages(save: (page: number) => void): void {
    if (!this.anyDirty) return;
    this.anyDirty = false;
    for (let p = 0; p < this.dirty.length; p++) {
      if (this.dirty[p] === 0) continue;
      this.dirty[p] = 0;
      save(p);
    }
  }
}
