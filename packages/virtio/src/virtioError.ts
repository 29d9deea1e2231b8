/**
 * The package's one error class. Hot paths (ring operations, register
 * accesses) never throw: they return negative Linux errno numbers from
 * VIRTIO_ERRNO. Setup-time APIs (probing, negotiation, queue creation) throw
 * VirtioError.
 */

/** Linux errno numbers that virtio operations return negated on hot paths. */
export const VIRTIO_ERRNO = {
  EIO: 5, // the device (driver side) or the driver (device side) broke the protocol
  ENOMEM: 12, // DMA memory exhausted
  EFAULT: 14, // a buffer lies outside guest memory
  ENODEV: 19, // no (usable) device, or the queue was detached by a reset
  EINVAL: 22, // a malformed argument or ring structure
  ENOSPC: 28, // the ring has no room for the chain
  ELOOP: 40, // a descriptor chain longer than the queue (a loop)
  ENOTSUP: 95, // a feature or form the package does not implement
} as const;

/** Error codes of VirtioError: the errno names above plus virtio-specific conditions. */
export const VIRTIO_ERROR_CODES = {
  EIO: 'EIO',
  ENOMEM: 'ENOMEM',
  EFAULT: 'EFAULT',
  ENODEV: 'ENODEV',
  EINVAL: 'EINVAL',
  ENOSPC: 'ENOSPC',
  ELOOP: 'ELOOP',
  ENOTSUP: 'ENOTSUP',
  /** The device cleared FEATURES_OK: it refused the driver's feature subset (3.1.1 step 6). */
  FEATURES_REFUSED: 'FEATURES_REFUSED',
  /** The device set DEVICE_NEEDS_RESET (2.1.2). */
  DEVICE_NEEDS_RESET: 'DEVICE_NEEDS_RESET',
} as const;

/** One of VirtioError's codes. */
export type VirtioErrorCode = keyof typeof VIRTIO_ERROR_CODES;

/**
 * Thrown by the setup-time APIs of both sides: a missing or legacy device, a
 * refused feature set, a bad queue configuration, an unsupported host. `errno`
 * carries the Linux number (EIO's for virtio-specific codes) so the kernel can
 * pass it on.
 */
export class VirtioError extends Error {
  override readonly name = 'VirtioError';
  /** What went wrong, from VIRTIO_ERROR_CODES. */
  readonly code: VirtioErrorCode;
  /** Linux errno number for `code`. */
  readonly errno: number;

  /**
   * @param code what went wrong
   * @param message what was wrong and what to do about it
   * @param options `cause`: the underlying error, kept
   */
  constructor(code: VirtioErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = code in VIRTIO_ERRNO ? VIRTIO_ERRNO[code as keyof typeof VIRTIO_ERRNO] : VIRTIO_ERRNO.EIO;
  }
}
