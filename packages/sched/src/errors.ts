/**
 * The scheduler's one error class. Codes are Linux errno names where POSIX
 * applies (pthread_* return these numbers); `errno` carries the number so libc
 * can hand it to programs unchanged.
 */

/** Linux errno numbers for the codes the scheduler raises. */
export const SCHED_ERRNO = {
  EPERM: 1, // unlocking a mutex the caller does not own; blocking outside a thread
  ESRCH: 3, // no such thread (stale or invalid id)
  EIO: 5, // shared scheduler memory failed validation (a peer corrupted it)
  EAGAIN: 11, // out of thread slots or synchronisation blocks
  EINVAL: 22, // bad argument, wrong object kind, second joiner, joining a detached thread
  EDEADLK: 35, // joining oneself; a wait-queue lock word stuck past its limit
  ENOTSUP: 95, // a part not implemented yet (see the README's "Not supported yet")
  ETIMEDOUT: 110, // a timed wait ran out
} as const;

/** One of the scheduler's error codes. */
export type SchedErrorCode = keyof typeof SCHED_ERRNO;

/** The codes as a table, for `switch` and comparisons without string typos. */
export const SCHED_ERROR_CODES = Object.freeze(
  Object.fromEntries(Object.keys(SCHED_ERRNO).map((k) => [k, k])),
) as { readonly [K in SchedErrorCode]: K };

/**
 * Thrown at the scheduler's public API boundary. Hot paths return negative
 * errno numbers instead, and the boundary turns them into this with
 * {@link SchedError.fromErrno}.
 */
export class SchedError extends Error {
  override readonly name = 'SchedError';
  /** What went wrong. */
  readonly code: SchedErrorCode;
  /** The Linux errno number of `code`. */
  readonly errno: number;

  constructor(code: SchedErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = SCHED_ERRNO[code];
  }

  /**
   * Turns a negative errno returned by a hot path into an error. Use at the
   * public boundary only; an unknown number becomes EIO.
   */
  static fromErrno(negErrno: number, what: string): SchedError {
    for (const k of Object.keys(SCHED_ERRNO) as SchedErrorCode[]) {
      if (SCHED_ERRNO[k] === -negErrno) return new SchedError(k, what);
    }
    return new SchedError('EIO', `${what} (errno ${-negErrno})`);
  }
}

/** Negative errno values used as hot-path return codes. */
export const NEG = {
  EPERM: -SCHED_ERRNO.EPERM,
  ESRCH: -SCHED_ERRNO.ESRCH,
  EIO: -SCHED_ERRNO.EIO,
  EAGAIN: -SCHED_ERRNO.EAGAIN,
  EINVAL: -SCHED_ERRNO.EINVAL,
  EDEADLK: -SCHED_ERRNO.EDEADLK,
  ETIMEDOUT: -SCHED_ERRNO.ETIMEDOUT,
} as const;
