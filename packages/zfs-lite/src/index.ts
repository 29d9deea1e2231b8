/**
 * @osv-ts/zfs-lite — a copy-on-write, checksummed, transactional filesystem
 * after ZFS (DESIGN.md section 5). The implementation arrives with its own
 * issue; this entry point holds the contracts other packages program against.
 */

/**
 * A block device as zfs-lite needs it: the kernel's virtio-blk driver and the
 * host-side CLI's file-backed device implement it. Offsets and lengths are
 * bytes and multiples of `blockSize`.
 */
export interface BlockDevice {
  /** Size of one block, bytes (a power of two, usually 512 or 4096). */
  readonly blockSize: number;
  /** Capacity, bytes. */
  readonly size: number;
  /** True when writes are refused. */
  readonly readOnly: boolean;
  /** Reads `buffer.length` bytes at `offset` into `buffer`. */
  read(offset: number, buffer: Uint8Array): Promise<void>;
  /** Writes `data` at `offset`. Durable only after flush(). */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
}

/** What zfs-lite raises: Linux errno names where POSIX applies. */
export const ZFS_ERROR_CODES = {
  ENOTSUP: 'ENOTSUP',
  EIO: 'EIO',
  ECKSUM: 'ECKSUM',
} as const;

/** One of ZFS_ERROR_CODES. */
export type ZfsErrorCode = keyof typeof ZFS_ERROR_CODES;

/** zfs-lite's error class. */
export class ZfsError extends Error {
  override readonly name = 'ZfsError';
  readonly code: ZfsErrorCode;
  constructor(code: ZfsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
