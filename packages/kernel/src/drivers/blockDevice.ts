/**
 * The kernel's block device: what filesystems (zfs-lite declares the same
 * shape as its own BlockDevice) and programs (`blockDevices()`) use. The
 * virtio-blk driver implements it.
 */

/**
 * A disk. Offsets and lengths are bytes and multiples of `blockSize`. Many
 * requests may be outstanding at once; up to `maxInFlight` are at the device
 * together and the rest wait in the driver. Completion order between
 * requests is not defined.
 *
 * Methods reject with KernelError: EINVAL for a misaligned or out-of-range
 * request, EROFS for a write to a read-only disk, EIO when the device
 * reports an I/O error, ENOTSUP for a request it does not support,
 * DEVICE_ERROR when the device failed and was reset (requests in flight then
 * are lost).
 */
export interface BlockDevice {
  /** Kernel name: vda, vdb, ... in probe order. */
  readonly name: string;
  /** Size of one block, bytes (a power of two, 512 or more). */
  readonly blockSize: number;
  /** Capacity, bytes. */
  readonly size: number;
  /** True when writes are refused. */
  readonly readOnly: boolean;
  /** Requests the device has in flight at most. */
  readonly maxInFlight: number;
  /** Reads `buffer.length` bytes at `offset` into `buffer`. */
  read(offset: number, buffer: Uint8Array): Promise<void>;
  /** Writes `data` at `offset`. Durable only after flush(). */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  /** The device's identification string (virtio GET_ID), at most 20 characters. */
  id(): Promise<string>;
}
