/**
 * A copy-on-write disk: a read-only base image with an overlay that takes
 * every write, at sector granularity, so a partial write never needs the
 * base's old contents (no read-modify-write). A read is split into runs of
 * sectors that the overlay holds and runs it does not, each served from its
 * side. The base file is opened read-only and never written.
 *
 * The overlay's storage (in memory, or in an overlay file that outlives the
 * machine) is an OverlayStore; the sector bitmap is this file's.
 */
import { SECTOR, type BlockBackend, type BlockIoTarget } from './blockBackend.js';
import type { FileBlockBackend } from './fileBlockBackend.js';
import type { SectorBitmap } from './sectorBitmap.js';

/** Storage for the overlay's sectors, addressed like the disk. */
export interface OverlayStore {
  /** A name for messages ("memory", or the overlay file's path). */
  readonly name: string;
  read(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void;
  write(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void;
  writeZeroes(position: number, length: number, io: BlockIoTarget): void;
  /** Makes the overlay's data and `bitmap` stable. */
  flush(bitmap: SectorBitmap, io: BlockIoTarget): void;
  /** Saves what must outlive the machine and releases host resources. */
  close(bitmap: SectorBitmap): Promise<void>;
}

/** A read-only base image under a writable overlay. */
export class OverlayBlockBackend implements BlockBackend {
  readonly size: number;
  readonly writable = true;
  readonly serial: string;

  constructor(
    private readonly base: FileBlockBackend,
    private readonly store: OverlayStore,
    private readonly bitmap: SectorBitmap,
  ) {
    this.size = base.size;
    this.serial = base.serial;
  }

  read(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    const end = (position + length) / SECTOR;
    for (let s = position / SECTOR; s < end; ) {
      const e = this.bitmap.runEnd(s, end);
      const at = memOffset + (s * SECTOR - position);
      if (this.bitmap.has(s)) this.store.read(mem, at, (e - s) * SECTOR, s * SECTOR, io);
      else this.base.read(mem, at, (e - s) * SECTOR, s * SECTOR, io);
      s = e;
    }
  }

  write(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    // Marked before the data lands: requests that overlap an unfinished write
    // may see old or new data, which virtio leaves undefined anyway (5.2.6).
    this.bitmap.setRange(position / SECTOR, (position + length) / SECTOR);
    this.store.write(mem, memOffset, length, position, io);
  }

  writeZeroes(position: number, length: number, io: BlockIoTarget): void {
    this.bitmap.setRange(position / SECTOR, (position + length) / SECTOR);
    this.store.writeZeroes(position, length, io);
  }

  flush(io: BlockIoTarget): void {
    this.store.flush(this.bitmap, io);
  }

  async close(): Promise<void> {
    try {
      await this.store.close(this.bitmap);
    } finally {
      await this.base.close();
    }
  }
}
