/**
 * The kernel's one error class. Codes are Linux errno names where POSIX
 * applies; `errno` carries the Linux number so libc can hand it to programs.
 */

/** Linux errno numbers for the codes the kernel raises. */
export const KERNEL_ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENOEXEC: 8,
  EBADF: 9,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOSPC: 28,
  EROFS: 30,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ELOOP: 40,
  ENOTSUP: 95,
} as const;

/** Kernel error codes: the errno names above plus kernel-specific conditions. */
export const KERNEL_ERROR_CODES = {
  ...Object.fromEntries(Object.keys(KERNEL_ERRNO).map((k) => [k, k])),
  BAD_FILESYSTEM: 'BAD_FILESYSTEM', // an on-disk structure failed validation
  BAD_CMDLINE: 'BAD_CMDLINE', // the command line could not be parsed
  NO_DEVICE: 'NO_DEVICE', // a required device is missing
  DEVICE_ERROR: 'DEVICE_ERROR', // a device misbehaved or needs a reset
  LINK_ERROR: 'LINK_ERROR', // an app imports a module the image does not carry
} as const as { readonly [K in KernelErrorCode]: K };

/** One of the kernel's error codes. */
export type KernelErrorCode =
  | keyof typeof KERNEL_ERRNO
  | 'BAD_FILESYSTEM'
  | 'BAD_CMDLINE'
  | 'NO_DEVICE'
  | 'DEVICE_ERROR'
  | 'LINK_ERROR';

/**
 * Thrown at the kernel's public API boundary. Hot paths return negative errno
 * numbers instead and the boundary turns them into this.
 */
export class KernelError extends Error {
  override readonly name = 'KernelError';
  /** What went wrong, from KERNEL_ERROR_CODES. */
  readonly code: KernelErrorCode;
  /** Linux errno number, or EIO's for kernel-specific codes. */
  readonly errno: number;
  /** The path the operation was about, if any. */
  readonly path: string | undefined;

  constructor(code: KernelErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = code in KERNEL_ERRNO ? KERNEL_ERRNO[code as keyof typeof KERNEL_ERRNO] : KERNEL_ERRNO.EIO;
    this.path = options?.path;
  }
}
