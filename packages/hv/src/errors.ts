/**
 * The hv's error class. Everything the hypervisor refuses — a bad option, an
 * image it cannot boot, a guest that could not start — is an HvError with a
 * code from HV_ERROR_CODES and a message that says what to do.
 */

/** What went wrong in the hv. */
export const HV_ERROR_CODES = {
  BAD_OPTION: 'BAD_OPTION', // a Machine option or CLI flag is invalid
  BAD_IMAGE: 'BAD_IMAGE', // the image could not be read or verified (cause: ImageError)
  GUEST_START: 'GUEST_START', // a vCPU worker failed before the guest ran
  GUEST_CRASH: 'GUEST_CRASH', // guest code threw out of the vCPU (a kernel bug)
  KILLED: 'KILLED', // the machine was killed before the guest powered off
  NOT_SUPPORTED: 'NOT_SUPPORTED', // a real option or feature this hv does not implement yet
} as const;

/** One of HV_ERROR_CODES. */
export type HvErrorCode = keyof typeof HV_ERROR_CODES;

/** Thrown by the Machine API and osv-run. */
export class HvError extends Error {
  override readonly name = 'HvError';
  /** What went wrong. */
  readonly code: HvErrorCode;

  constructor(code: HvErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
