/**
 * mmu's one error class and the fault codes its hot paths return. Hot paths
 * (translation, faults, allocation) return numbers; the public API boundary
 * turns them into MmuError or its SegmentationFault form.
 */

/** Linux errno numbers for the codes mmu raises. */
export const MMU_ERRNO = {
  EIO: 5,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOTSUP: 95,
} as const;

/** mmu error codes: the errno names above plus mmu-specific conditions. */
export const MMU_ERROR_CODES = {
  EIO: 'EIO',
  ENOMEM: 'ENOMEM', // out of memory after the shrinkers were asked (hard)
  EACCES: 'EACCES',
  EFAULT: 'EFAULT', // a segmentation fault or a bad address (see SegmentationFault)
  EBUSY: 'EBUSY',
  EEXIST: 'EEXIST',
  EINVAL: 'EINVAL',
  ENOTSUP: 'ENOTSUP', // a feature listed under "Not supported yet" in the README
  CORRUPT: 'CORRUPT', // mmu's shared state in guest memory failed validation
} as const;

/** One of mmu's error codes. */
export type MmuErrorCode = keyof typeof MMU_ERROR_CODES;

/** Negative errno as the hot paths return it, from its code. */
export function negErrno(code: keyof typeof MMU_ERRNO): number {
  return -MMU_ERRNO[code];
}

/**
 * Fault codes returned by translation and the fault handler (negative; 0 or a
 * physical address means success). Values are part of the hot-path contract.
 */
export const FAULT = {
  /** No mapping covers the address (SEGV_MAPERR), or a guard / freed debug page. */
  MAPERR: -1,
  /** A mapping covers it but forbids the access (SEGV_ACCERR), e.g. PROT_NONE. */
  ACCERR: -2,
  /** The mapping's file has no page there or the page provider failed (SIGBUS). */
  BUS: -3,
  /** A paging-structure entry points outside guest memory or sets reserved bits. */
  BAD_PTE: -4,
  /** No memory for the page even after hard reclaim. */
  NOMEM: -5,
} as const;

/** Access kinds, as bits (the walker checks them against the entry). */
export const ACCESS = { READ: 1, WRITE: 2, EXEC: 4 } as const;

/** Name of an access kind, for error messages. */
export type AccessName = 'read' | 'write' | 'exec';

/** The mapping a fault hit, as the fault reports it. */
export interface FaultMapping {
  /** First byte of the mapping (virtual). */
  readonly start: number;
  /** One past its last byte. */
  readonly end: number;
  /** PROT_* bits. */
  readonly prot: number;
  /** MAP_* bits it was created with (MAP_SHARED/PRIVATE/ANONYMOUS), or 0 for mmu's own regions. */
  readonly flags: number;
  /** What kind of region: "anonymous", "file", "debug-heap", "linear". */
  readonly kind: string;
}

/** mmu's error: `code` from MMU_ERROR_CODES, `errno` the Linux number (EIO for CORRUPT). */
export class MmuError extends Error {
  override readonly name: string = 'MmuError';
  /** What went wrong. */
  readonly code: MmuErrorCode;
  /** Linux errno number for libc. */
  readonly errno: number;

  constructor(code: MmuErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = code in MMU_ERRNO ? MMU_ERRNO[code as keyof typeof MMU_ERRNO] : MMU_ERRNO.EIO;
  }
}

/**
 * A guest access that no mapping allows: the address, the access, the mapping
 * it hit (null when none covers it) and the fault code. Thrown at the access
 * API boundary; a subclass of MmuError (code EFAULT) so there is still one
 * error hierarchy per package.
 */
export class SegmentationFault extends MmuError {
  override readonly name = 'SegmentationFault';
  /** The faulting virtual address. */
  readonly address: number;
  /** What the guest tried to do. */
  readonly access: AccessName;
  /** The mapping the address lies in, or null. */
  readonly mapping: FaultMapping | null;
  /** The FAULT_* code. */
  readonly fault: number;

  constructor(address: number, access: AccessName, fault: number, mapping: FaultMapping | null) {
    super('EFAULT', describeFault(address, access, fault, mapping));
    this.address = address;
    this.access = access;
    this.fault = fault;
    this.mapping = mapping;
  }
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}

function describeFault(address: number, access: AccessName, fault: number, m: FaultMapping | null): string {
  const where = m === null ? 'no mapping' : `${m.kind} mapping ${hex(m.start)}-${hex(m.end)} prot ${m.prot}`;
  const why =
    fault === FAULT.MAPERR
      ? 'address not mapped'
      : fault === FAULT.ACCERR
        ? 'access not permitted'
        : fault === FAULT.BUS
          ? 'no file page there (bus error)'
          : fault === FAULT.BAD_PTE
            ? 'corrupt page-table entry'
            : 'out of memory';
  return `segmentation fault: ${access} at ${hex(address)}: ${why} (${where})`;
}
