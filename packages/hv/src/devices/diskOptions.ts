/**
 * `--disk FILE[,ro][,overlay=OVL][,readonly][,serial=ID]`: what a disk is
 * and how it is opened.
 *
 *   FILE                 a writable raw disk: guest writes go to FILE
 *   FILE,ro              FILE is never written; the guest's writes go to a
 *                        copy-on-write overlay in memory, gone at power-off
 *   FILE,overlay=OVL     the same with the overlay in the file OVL, kept
 *                        across boots (implies ro)
 *   FILE,readonly        the device itself is read-only (VIRTIO_BLK_F_RO):
 *                        the guest cannot write at all
 *   serial=ID            what GET_ID answers (default: FILE's name)
 *
 * A path containing a comma cannot be given on the command line (use the
 * Machine API).
 */
import { HvError } from '../errors.js';
import { SECTOR, type BlockBackend } from './blockBackend.js';
import { FileBlockBackend } from './fileBlockBackend.js';
import { FileOverlayStore } from './fileOverlayStore.js';
import { MemoryOverlayStore } from './memoryOverlayStore.js';
import { OverlayBlockBackend } from './overlayBlockBackend.js';
import { SectorBitmap } from './sectorBitmap.js';

/** One disk of a machine. */
export interface DiskOptions {
  /** The raw disk image. */
  readonly path: string;
  /** Keep `path` untouched: writes go to a copy-on-write overlay (in memory unless `overlay`). */
  readonly ro?: boolean;
  /** Keep the overlay in this file (created if missing; implies `ro`). */
  readonly overlay?: string;
  /** A read-only device: the guest sees VIRTIO_BLK_F_RO and cannot write. */
  readonly readonly?: boolean;
  /** GET_ID string, at most 20 ASCII characters. */
  readonly serial?: string;
  /**
   * Requests up to this many bytes are served with synchronous pread/pwrite
   * on the hv thread, larger ones on the thread pool (default
   * DEFAULT_SYNC_BELOW; 0: always the thread pool). A tuning knob for
   * benchmarks, not on the command line.
   */
  readonly syncBelow?: number;
}

/**
 * Parses a `--disk` value.
 * @throws HvError BAD_OPTION naming the bad part
 */
export function parseDiskSpec(spec: string): DiskOptions {
  const [path, ...parts] = spec.split(',');
  if (!path) throw new HvError('BAD_OPTION', `--disk '${spec}': no file given (write --disk FILE[,ro][,overlay=FILE][,readonly][,serial=ID])`);
  let ro = false;
  let readonly = false;
  let overlay: string | undefined;
  let serial: string | undefined;
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? undefined : part.slice(eq + 1);
    if (key === 'ro' && value === undefined) ro = true;
    else if (key === 'readonly' && value === undefined) readonly = true;
    else if (key === 'overlay' && value) overlay = value;
    else if (key === 'serial' && value !== undefined) serial = value;
    else throw new HvError('BAD_OPTION', `--disk '${spec}': unknown or incomplete option '${part}' (known: ro, overlay=FILE, readonly, serial=ID)`);
  }
  return { path, ...(ro ? { ro } : {}), ...(overlay !== undefined ? { overlay } : {}), ...(readonly ? { readonly } : {}), ...(serial !== undefined ? { serial } : {}) };
}

/**
 * Opens the storage of a disk: the raw file, or the file read-only under an
 * overlay.
 * @throws HvError BAD_OPTION when a file cannot be opened or the options conflict
 */
export function openDisk(options: DiskOptions): BlockBackend {
  if (options.serial !== undefined && !/^[\x20-\x7e]{0,20}$/.test(options.serial)) {
    throw new HvError('BAD_OPTION', `--disk ${options.path}: serial '${options.serial}' must be at most 20 printable ASCII characters`);
  }
  const cow = options.ro === true || options.overlay !== undefined;
  if (cow && options.readonly === true) {
    throw new HvError('BAD_OPTION', `--disk ${options.path}: readonly (a read-only device) and ro/overlay (a writable overlay) exclude each other`);
  }
  const serial = options.serial === undefined ? {} : { serial: options.serial };
  const sync = options.syncBelow === undefined ? {} : { syncBelow: options.syncBelow };
  const writable = !cow && options.readonly !== true;
  const file = FileBlockBackend.open(options.path, { writable, ...serial, ...sync });
  if (!cow) return file;
  try {
    if (options.overlay === undefined) return new OverlayBlockBackend(file, new MemoryOverlayStore(), new SectorBitmap(file.size / SECTOR));
    const { store, bitmap } = FileOverlayStore.open(options.overlay, file.size);
    return new OverlayBlockBackend(file, store, bitmap);
  } catch (e) {
    void file.close();
    throw e;
  }
}
