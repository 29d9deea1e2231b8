/**
 * A copy-on-write overlay kept in a file (`--disk FILE,overlay=OVL`), so the
 * guest's writes survive power-off while the image stays untouched. The
 * overlay file is a header, the sector bitmap, then a sparse raw copy of the
 * disk (sector s at dataOffset + s·512); only written sectors take host
 * space. A missing or empty overlay file is initialised; an existing one must
 * belong to a disk of the same size.
 *
 * Stability: data goes to the file when written; the bitmap's changed pages
 * are written at FLUSH, followed by one fdatasync, so after a completed FLUSH
 * every completed write is on disk (virtio 5.2.6.2). A crash between writes
 * and their FLUSH leaves those sectors old or new, as virtio allows.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { packed } from '@osv-ts/virtio';
import { HvError } from '../errors.js';
import { SECTOR, type BlockIoTarget } from './blockBackend.js';
import { fileRead, fileSync, fileWrite, fileZero } from './fileIo.js';
import type { OverlayStore } from './overlayBlockBackend.js';
import { BITMAP_PAGE, SectorBitmap } from './sectorBitmap.js';

/** The overlay file's header, at offset 0. All fields little-endian. */
export const OVERLAY_HEADER_LAYOUT = packed([
  ['magic', 8], // OVERLAY_MAGIC, ASCII
  ['version', 4], // OVERLAY_VERSION
  ['sectorSize', 4], // 512
  ['diskBytes', 8], // le64 size of the disk the overlay covers, bytes
  ['bitmapOffset', 8], // le64 where the sector bitmap starts, bytes
  ['bitmapBytes', 8], // le64 its length (whole 4 KiB pages)
  ['dataOffset', 8], // le64 where sector 0's copy lives
] as const);

/** 'OSVOVL01'. */
export const OVERLAY_MAGIC = 'OSVOVL01';
/** Version of the overlay file layout. */
export const OVERLAY_VERSION = 1;
/** Bytes reserved for the header (the bitmap starts on the next page). */
const HEADER_BYTES = 4096;
const H = OVERLAY_HEADER_LAYOUT;

/** An overlay file, with its bitmap. */
export class FileOverlayStore implements OverlayStore {
  readonly name: string;
  private fd: number;
  private readonly bitmapOffset: number;
  private readonly dataOffset: number;

  /**
   * Opens (creating or initialising it if needed) the overlay file at `path`
   * for a disk of `diskBytes` bytes; returns the store and its bitmap.
   * @throws HvError BAD_OPTION when the file cannot be opened or belongs to another disk
   */
  static open(path: string, diskBytes: number): { store: FileOverlayStore; bitmap: SectorBitmap } {
    const what = `--disk overlay=${path}`;
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    } catch (e) {
      throw new HvError('BAD_OPTION', `${what}: cannot open it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
    }
    try {
      const sectors = diskBytes / SECTOR;
      const bitmapBytes = SectorBitmap.bytesFor(sectors);
      const layout = { bitmapOffset: HEADER_BYTES, bitmapBytes, dataOffset: HEADER_BYTES + bitmapBytes };
      const bitmap = fstatSync(fd).size === 0 ? initialise(fd, diskBytes, layout, sectors) : load(fd, what, diskBytes, layout, sectors);
      return { store: new FileOverlayStore(fd, path, layout.bitmapOffset, layout.dataOffset), bitmap };
    } catch (e) {
      closeSync(fd);
      if (e instanceof HvError) throw e;
      throw new HvError('BAD_OPTION', `${what}: ${(e as Error).message}`, { cause: e });
    }
  }

  private constructor(fd: number, name: string, bitmapOffset: number, dataOffset: number) {
    this.fd = fd;
    this.name = name;
    this.bitmapOffset = bitmapOffset;
    this.dataOffset = dataOffset;
  }

  read(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    fileRead(this.fd, mem, memOffset, length, this.dataOffset + position, io, false);
  }

  write(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    fileWrite(this.fd, mem, memOffset, length, this.dataOffset + position, io, false);
  }

  writeZeroes(position: number, length: number, io: BlockIoTarget): void {
    fileZero(this.fd, length, this.dataOffset + position, io);
  }

  flush(bitmap: SectorBitmap, io: BlockIoTarget): void {
    try {
      this.saveBitmap(bitmap);
    } catch (e) {
      io.addPart();
      io.partDone(e as NodeJS.ErrnoException, 0);
      return;
    }
    fileSync(this.fd, io);
  }

  close(bitmap: SectorBitmap): Promise<void> {
    if (this.fd < 0) return Promise.resolve();
    try {
      this.saveBitmap(bitmap);
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
    return Promise.resolve();
  }

  private saveBitmap(bitmap: SectorBitmap): void {
    bitmap.takeDirtyPages((p) => {
      writeSync(this.fd, bitmap.bits, p * BITMAP_PAGE, BITMAP_PAGE, this.bitmapOffset + p * BITMAP_PAGE);
    });
  }
}

interface OverlayGeometry {
  readonly bitmapOffset: number;
  readonly bitmapBytes: number;
  readonly dataOffset: number;
}

/** Writes a fresh header and an empty bitmap; the data area is a hole. */
function initialise(fd: number, diskBytes: number, g: OverlayGeometry, sectors: number): SectorBitmap {
  const header = new Uint8Array(HEADER_BYTES);
  const dv = new DataView(header.buffer);
  for (let i = 0; i < OVERLAY_MAGIC.length; i++) header[H.magic.offset + i] = OVERLAY_MAGIC.charCodeAt(i);
  dv.setUint32(H.version.offset, OVERLAY_VERSION, true);
  dv.setUint32(H.sectorSize.offset, SECTOR, true);
  dv.setBigUint64(H.diskBytes.offset, BigInt(diskBytes), true);
  dv.setBigUint64(H.bitmapOffset.offset, BigInt(g.bitmapOffset), true);
  dv.setBigUint64(H.bitmapBytes.offset, BigInt(g.bitmapBytes), true);
  dv.setBigUint64(H.dataOffset.offset, BigInt(g.dataOffset), true);
  ftruncateSync(fd, g.dataOffset + diskBytes);
  writeSync(fd, header, 0, HEADER_BYTES, 0);
  return new SectorBitmap(sectors);
}

/** Reads and checks an existing overlay's header and bitmap. */
function load(fd: number, what: string, diskBytes: number, g: OverlayGeometry, sectors: number): SectorBitmap {
  const header = new Uint8Array(HEADER_BYTES);
  if (readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES) throw new HvError('BAD_OPTION', `${what}: not an osv-ts overlay file (too short) — give a new or empty file`);
  const dv = new DataView(header.buffer);
  const magic = String.fromCharCode(...header.subarray(H.magic.offset, H.magic.offset + 8));
  if (magic !== OVERLAY_MAGIC) throw new HvError('BAD_OPTION', `${what}: not an osv-ts overlay file — give a new or empty file`);
  const version = dv.getUint32(H.version.offset, true);
  if (version !== OVERLAY_VERSION) throw new HvError('BAD_OPTION', `${what}: overlay version ${version}, this hv reads ${OVERLAY_VERSION}`);
  const disk = Number(dv.getBigUint64(H.diskBytes.offset, true));
  if (disk !== diskBytes) throw new HvError('BAD_OPTION', `${what}: overlay of a ${disk}-byte disk, but the image has ${diskBytes} bytes — use the overlay with its own image`);
  const same =
    dv.getUint32(H.sectorSize.offset, true) === SECTOR &&
    Number(dv.getBigUint64(H.bitmapOffset.offset, true)) === g.bitmapOffset &&
    Number(dv.getBigUint64(H.bitmapBytes.offset, true)) === g.bitmapBytes &&
    Number(dv.getBigUint64(H.dataOffset.offset, true)) === g.dataOffset;
  if (!same) throw new HvError('BAD_OPTION', `${what}: overlay header is damaged (its geometry does not match its disk size)`);
  const bits = new Uint8Array(g.bitmapBytes);
  if (readSync(fd, bits, 0, g.bitmapBytes, g.bitmapOffset) !== g.bitmapBytes) throw new HvError('BAD_OPTION', `${what}: overlay file is truncated`);
  if (fstatSync(fd).size < g.dataOffset + diskBytes) ftruncateSync(fd, g.dataOffset + diskBytes);
  return new SectorBitmap(sectors, bits);
}
