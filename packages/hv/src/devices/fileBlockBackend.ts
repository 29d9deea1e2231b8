/**
 * A raw disk image in a host file: sector n is at byte n·512 of the file.
 * Reads and writes go straight between the file and guest memory through
 * Node's fs on a file descriptor: small ones synchronously (a pread from the
 * page cache costs less than a trip through libuv's thread pool), larger ones
 * on the thread pool so many stay in flight. FLUSH is fdatasync.
 */
import { closeSync, fstatSync, openSync, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { HvError } from '../errors.js';
import { SECTOR, type BlockBackend, type BlockIoTarget } from './blockBackend.js';
import { fileRead, fileSync, fileWrite, fileZero } from './fileIo.js';

/**
 * Requests up to this many bytes are served with synchronous pread/pwrite on
 * the hv thread; bigger ones go to the thread pool (bench/blk.bench.ts
 * measured both; see the hv README).
 */
export const DEFAULT_SYNC_BELOW = 64 * 1024;

/** How a file disk is opened. */
export interface FileBackendOptions {
  /** Open for writing (default false: the file is only read). */
  readonly writable?: boolean;
  /** Requests up to this many bytes run synchronously (default DEFAULT_SYNC_BELOW; 0: never). */
  readonly syncBelow?: number;
  /** What GET_ID returns (default: the file's name). */
  readonly serial?: string;
}

/** A host file as a disk. */
export class FileBlockBackend implements BlockBackend {
  readonly size: number;
  readonly writable: boolean;
  readonly serial: string;
  private fd: number;
  private readonly syncBelow: number;

  /**
   * Opens `path` as a disk. Its capacity is the file size rounded down to
   * whole sectors.
   * @throws HvError BAD_OPTION when the file cannot be opened, is not a
   *   regular file, or holds less than one sector
   */
  static open(path: string, options: FileBackendOptions = {}): FileBlockBackend {
    const writable = options.writable === true;
    let fd: number;
    try {
      fd = openSync(path, writable ? 'r+' : 'r');
    } catch (e) {
      throw new HvError('BAD_OPTION', `--disk ${path}: cannot open it ${writable ? 'for writing' : 'for reading'} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
    }
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      closeSync(fd);
      throw new HvError('BAD_OPTION', `--disk ${path}: cannot stat it (${(e as Error).message})`, { cause: e });
    }
    const size = Math.floor(st.size / SECTOR) * SECTOR;
    if (!st.isFile() || size === 0) {
      closeSync(fd);
      throw new HvError('BAD_OPTION', `--disk ${path}: ${st.isFile() ? 'smaller than one 512-byte sector' : 'not a regular file'}`);
    }
    return new FileBlockBackend(fd, size, writable, options.serial ?? basename(path), options.syncBelow ?? DEFAULT_SYNC_BELOW);
  }

  private constructor(fd: number, size: number, writable: boolean, serial: string, syncBelow: number) {
    this.fd = fd;
    this.size = size;
    this.writable = writable;
    this.serial = serial;
    this.syncBelow = syncBelow;
  }

  read(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    fileRead(this.fd, mem, memOffset, length, position, io, length <= this.syncBelow);
  }

  write(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    fileWrite(this.fd, mem, memOffset, length, position, io, length <= this.syncBelow);
  }

  writeZeroes(position: number, length: number, io: BlockIoTarget): void {
    fileZero(this.fd, length, position, io);
  }

  flush(io: BlockIoTarget): void {
    fileSync(this.fd, io);
  }

  close(): Promise<void> {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      closeSync(fd);
    }
    return Promise.resolve();
  }
}
