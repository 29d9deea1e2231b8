/**
 * A copy-on-write overlay held in host memory (`--disk FILE,ro`): the guest
 * may write its disk, the image file stays untouched, and every write is gone
 * at power-off. Sectors live in 64 KiB chunks allocated on first write;
 * sectors zeroed by WRITE_ZEROES in a chunk never written need no chunk.
 */
import type { BlockIoTarget } from './blockBackend.js';
import type { OverlayStore } from './overlayBlockBackend.js';

/** Bytes per allocated chunk. */
const CHUNK = 64 * 1024;

/** An in-memory overlay. */
export class MemoryOverlayStore implements OverlayStore {
  readonly name = 'memory';
  private readonly chunks = new Map<number, Uint8Array>();

  /** Bytes of host memory the overlay holds. */
  get bytes(): number {
    return this.chunks.size * CHUNK;
  }

  read(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    io.addPart();
    this.each(position, length, (chunk, inner, done, n) => {
      const c = this.chunks.get(chunk);
      if (c) mem.set(c.subarray(inner, inner + n), memOffset + done);
      else mem.fill(0, memOffset + done, memOffset + done + n);
    });
    io.partDone(null, length);
  }

  write(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void {
    io.addPart();
    this.each(position, length, (chunk, inner, done, n) => {
      let c = this.chunks.get(chunk);
      if (!c) this.chunks.set(chunk, (c = new Uint8Array(CHUNK)));
      c.set(mem.subarray(memOffset + done, memOffset + done + n), inner);
    });
    io.partDone(null, length);
  }

  writeZeroes(position: number, length: number, io: BlockIoTarget): void {
    io.addPart();
    this.each(position, length, (chunk, inner, _done, n) => {
      if (n === CHUNK) this.chunks.delete(chunk);
      else this.chunks.get(chunk)?.fill(0, inner, inner + n);
    });
    io.partDone(null, 0);
  }

  flush(_bitmap: unknown, io: BlockIoTarget): void {
    // Nothing outlives the machine: every completed write is as stable as it gets.
    io.addPart();
    io.partDone(null, 0);
  }

  close(): Promise<void> {
    this.chunks.clear();
    return Promise.resolve();
  }

  /** Calls `f(chunk, offsetInChunk, bytesDone, n)` for each chunk piece of [position, position+length). */
  private each(position: number, length: number, f: (chunk: number, inner: number, done: number, n: number) => void): void {
    for (let done = 0; done < length; ) {
      const at = position + done;
      const inner = at % CHUNK;
      const n = Math.min(CHUNK - inner, length - done);
      f((at - inner) / CHUNK, inner, done, n);
      done += n;
    }
  }
}
