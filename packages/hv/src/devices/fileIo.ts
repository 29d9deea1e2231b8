/**
 * Positioned file I/O between a host file and guest memory for the block
 * backends, with the BlockIoTarget accounting done once: every operation is
 * announced with addPart() and reported exactly once through partDone, also
 * when Node throws before starting it (a request must never wait for a part
 * that will not come). Large transfers are split at MAX_HOST_OP.
 */
import { fdatasync, read, readSync, write, writeSync } from 'node:fs';
import { MAX_HOST_OP, type BlockIoTarget } from './blockBackend.js';

type AsyncIo = typeof read & typeof write;
type SyncIo = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number;

/**
 * Reads `length` bytes at file position `position` into `mem[memOffset...]`:
 * synchronously on this thread when `sync`, else on libuv's thread pool.
 */
export function fileRead(fd: number, mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget, sync: boolean): void {
  transfer(read as AsyncIo, readSync, fd, mem, memOffset, length, position, io, sync);
}

/** Writes `mem[memOffset, memOffset+length)` at file position `position`, like fileRead. */
export function fileWrite(fd: number, mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget, sync: boolean): void {
  transfer(write as AsyncIo, writeSync, fd, mem, memOffset, length, position, io, sync);
}

/** fdatasync on the thread pool. */
export function fileSync(fd: number, io: BlockIoTarget): void {
  io.addPart();
  try {
    fdatasync(fd, (err) => io.partDone(err, 0));
  } catch (e) {
    io.partDone(e as NodeJS.ErrnoException, 0);
  }
}

let zeroes: Uint8Array | undefined;
/** Bytes written per zeroing operation. */
const ZERO_CHUNK = 1024 * 1024;

/** Writes `length` zero bytes at `position`. */
export function fileZero(fd: number, length: number, position: number, io: BlockIoTarget): void {
  const z = (zeroes ??= new Uint8Array(ZERO_CHUNK));
  for (let done = 0; done < length; done += ZERO_CHUNK) {
    transfer(write as AsyncIo, writeSync, fd, z, 0, Math.min(ZERO_CHUNK, length - done), position + done, io, false);
  }
}

function transfer(op: AsyncIo, opSync: SyncIo, fd: number, mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget, sync: boolean): void {
  for (let done = 0; done < length; done += MAX_HOST_OP) {
    const n = Math.min(MAX_HOST_OP, length - done);
    io.addPart();
    if (sync) {
      let moved = 0;
      try {
        moved = opSync(fd, mem, memOffset + done, n, position + done);
      } catch (e) {
        io.partDone(e as NodeJS.ErrnoException, 0);
        continue;
      }
      io.partDone(null, moved);
    } else {
      try {
        op(fd, mem, memOffset + done, n, position + done, io.partDone);
      } catch (e) {
        io.partDone(e as NodeJS.ErrnoException, 0);
      }
    }
  }
}
