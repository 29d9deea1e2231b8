/**
 * netchannel's one error class. Hot paths return negative errno numbers; the
 * public API boundary (blocking socket calls, configuration) turns them into
 * NetError. Codes are Linux errno names so libc can hand them to programs.
 */

/** Linux errno numbers for every code netchannel returns or throws. */
export const NET_ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EINVAL: 22,
  EPIPE: 32,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
} as const;

/** One of netchannel's error codes: a Linux errno name. */
export type NetErrorCode = keyof typeof NET_ERRNO;

/** The codes as an `as const` table, for comparisons without string literals. */
export const NET_ERROR_CODES = Object.freeze(
  Object.fromEntries(Object.keys(NET_ERRNO).map((k) => [k, k])),
) as { readonly [K in NetErrorCode]: K };

const BY_NUMBER: ReadonlyMap<number, NetErrorCode> = new Map(
  (Object.entries(NET_ERRNO) as [NetErrorCode, number][]).map(([k, v]) => [v, k]),
);

/** Returns the code for an errno number (positive or negative), or 'EIO' for an unknown number. */
export function errnoCode(errno: number): NetErrorCode {
  return BY_NUMBER.get(Math.abs(errno)) ?? 'EIO';
}

/**
 * Thrown at netchannel's public API boundary: blocking socket calls, stack and
 * interface configuration, and unsupported features ('EOPNOTSUPP', with the
 * feature named in the message). `errno` is the Linux number for `code`.
 */
export class NetError extends Error {
  override readonly name = 'NetError';
  /** What went wrong: a Linux errno name. */
  readonly code: NetErrorCode;
  /** The Linux errno number of `code`. */
  readonly errno: number;

  constructor(code: NetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = NET_ERRNO[code];
  }

  /** Builds a NetError from a negative (or positive) errno returned by a hot path. */
  static fromErrno(errno: number, what: string): NetError {
    const code = errnoCode(errno);
    return new NetError(code, `${what}: ${code}`);
  }
}
