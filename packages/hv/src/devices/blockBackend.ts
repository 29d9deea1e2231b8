/**
 * Where a virtio-blk device keeps its sectors: the contract between the
 * device model (blockDevice.ts), which validates requests, and the storage
 * behind it (a host file, a copy-on-write overlay). Backends move bytes
 * straight between guest memory and the host: `mem` is a view over the whole
 * guest memory and `memOffset` a guest physical address the model has
 * checked, so reads land in guest buffers with no bounce copy.
 *
 * Completion is counted, not called back per request: a backend announces
 * every host operation it starts with `io.addPart()` and reports it with
 * `io.partDone(err, bytes)`, which is a Node fs callback. A request object
 * and its callback are made once, at queue setup, so a backend that splits a
 * request (a large segment, overlay runs) still allocates nothing per
 * request. A backend may call partDone synchronously.
 */

/** A Node fs-style completion: an error or null, and the bytes moved. */
export type IoCallback = (err: NodeJS.ErrnoException | null, bytes: number) => void;

/** The request a backend works for. */
export interface BlockIoTarget {
  /** Another host operation is starting for this request (call before starting it). */
  addPart(): void;
  /** One operation ended; `bytes` is what it moved (0 for flush and zeroing). Pre-bound: pass it to fs calls. */
  readonly partDone: IoCallback;
}

/** Sector storage behind a virtio-blk device. Offsets and lengths are bytes, multiples of 512, inside `size`. */
export interface BlockBackend {
  /** Capacity, bytes (a multiple of 512). */
  readonly size: number;
  /** Whether writes are accepted; a read-only backend makes the device offer VIRTIO_BLK_F_RO. */
  readonly writable: boolean;
  /** What the guest's GET_ID returns by default (the file's name), at most 20 ASCII bytes. */
  readonly serial: string;
  /** Reads `length` bytes at `position` into `mem[memOffset...]`. */
  read(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void;
  /** Writes `mem[memOffset, memOffset+length)` at `position`. */
  write(mem: Uint8Array, memOffset: number, length: number, position: number, io: BlockIoTarget): void;
  /** Makes `length` bytes at `position` read as zeroes. */
  writeZeroes(position: number, length: number, io: BlockIoTarget): void;
  /** Makes every completed write stable (fdatasync). */
  flush(io: BlockIoTarget): void;
  /** Releases host resources. Called once no operation is outstanding. */
  close(): Promise<void>;
}

/** Sector size of every virtio-blk request, bytes (virtio 5.2). */
export const SECTOR = 512;

/** Largest single host operation, bytes: bigger segments are split (Linux reads at most 2 GiB - 4 KiB per call). */
export const MAX_HOST_OP = 16 * 1024 * 1024;
