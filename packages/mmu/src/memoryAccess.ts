/**
 * The access API guest code uses: loads, stores, bulk copies and typed views
 * by virtual address, through this vCPU's software TLB. A hit costs a tag
 * compare and one typed-array access and allocates nothing; a miss walks the
 * page tables (setting accessed/dirty bits as hardware does) and, if needed,
 * runs the fault handler. Values are little-endian (x86). Addresses are
 * Numbers (integers below 2^48). Faults surface here, at the boundary, as a
 * SegmentationFault naming address, access and mapping; `translate` is the
 * non-throwing form that returns a FAULT code instead.
 */
import type { MemoryViews } from './internal/memoryViews.js';
import { ACCESS, FAULT, MmuError, SegmentationFault, type AccessName, type FaultMapping } from './errors.js';
import { TLB_SIZE, type Tlb } from './tlb.js';
import { LINEAR_ADDRESS_FIELDS, LINEAR_SPACE, PAGE_SIZE } from './pageTableEntry.js';

const MASK = TLB_SIZE - 1;
const OFF = PAGE_SIZE - 1;
/** log2(PAGE_SIZE): `(va >>> PAGE_SHIFT) & MASK` is the TLB slot (ToUint32 keeps the low page-number bits). */
const PAGE_SHIFT = LINEAR_ADDRESS_FIELDS.PT.shift;
/** Bulk copies use a typed-array copy (one view object) from this many bytes per page. */
const BULK_MIN = 64;

/** Describes the mapping at an address for a fault report. */
export interface FaultDescriber {
  /** The mapping containing `va`, or null. */
  describe(va: number): FaultMapping | null;
}

const ACCESS_NAMES: readonly AccessName[] = ['read', 'read', 'write', 'write', 'exec'];

/** One vCPU's access path to virtual memory. */
export class MemoryAccess {
  private readonly readTag: Float64Array;
  private readonly writeTag: Float64Array;
  private readonly word: Int32Array;
  private readonly u8: Uint8Array;
  private readonly i32: Int32Array;
  private readonly dv: DataView;
  private readonly buffer: SharedArrayBuffer;
  private readonly tlb: Tlb;
  private readonly describer: FaultDescriber;

  constructor(views: MemoryViews, tlb: Tlb, describer: FaultDescriber) {
    this.readTag = tlb.readTag;
    this.writeTag = tlb.writeTag;
    this.word = tlb.word;
    this.u8 = views.u8;
    this.i32 = views.i32;
    this.dv = views.dv;
    this.buffer = views.buffer;
    this.tlb = tlb;
    this.describer = describer;
  }

  /**
   * Physical address of `va` for `access` (ACCESS.*), loading the TLB and
   * handling faults as needed; a negative FAULT code if no mapping allows it.
   * Never throws.
   */
  translate(va: number, access: number): number {
    const off = va & OFF;
    const page = va - off;
    const i = (va >>> PAGE_SHIFT) & MASK;
    if (access === ACCESS.READ ? this.readTag[i] === page : access === ACCESS.WRITE && this.writeTag[i] === page) return this.word[i]! * 4 + off;
    if (!(va >= 0 && va < LINEAR_SPACE && Number.isInteger(va))) return FAULT.MAPERR;
    const r = this.tlb.fill(va, access);
    if (r < 0) return r;
    return this.word[i]! * 4 + off;
  }

  /** Physical address of `va` for `access`; throws SegmentationFault (or MmuError ENOMEM). */
  physical(va: number, access: number): number {
    const pa = this.translate(va, access);
    if (pa < 0) throw this.fault(va, access, pa);
    return pa;
  }

  /** The typed error for fault code `code` at `va`. */
  fault(va: number, access: number, code: number): MmuError {
    if (code === FAULT.NOMEM) return new MmuError('ENOMEM', `out of memory handling a fault at 0x${va.toString(16)} — free memory or register a shrinker`);
    return new SegmentationFault(va, ACCESS_NAMES[access] ?? 'read', code, this.describer.describe(va));
  }

  /**
   * Checks that code at `va` may be executed (PROT_EXEC, no XD bit on any
   * level); throws SegmentationFault otherwise.
   */
  checkExec(va: number): void {
    this.physical(va, ACCESS.EXEC);
  }

  /** Unsigned byte at `va`. */
  read8(va: number): number {
    const off = va & OFF;
    const page = va - off;
    const i = (va >>> PAGE_SHIFT) & MASK;
    if (this.readTag[i] === page) return this.u8[this.word[i]! * 4 + off]!;
    return this.u8[this.physical(va, ACCESS.READ)]!;
  }

  /** Unsigned 16-bit value at `va`. */
  read16(va: number): number {
    const off = va & OFF;
    const page = va - off;
    const i = (va >>> PAGE_SHIFT) & MASK;
    if (this.readTag[i] === page && off <= PAGE_SIZE - 2) return this.dv.getUint16(this.word[i]! * 4 + off, true);
    return this.readSlow(va, 2);
  }

  /** Signed 32-bit value at `va` (`>>> 0` for unsigned). */
  read32(va: number): number {
    const off = va & OFF;
    const page = va - off;
    const i = (va >>> PAGE_SHIFT) & MASK;
    if (this.readTag[i] === page && (off & 3) === 0) return this.i32[this.word[i]! + (off >> 2)]!;
    return this.readSlow(va, 4) | 0;
  }

  /** 64-bit float at `va`. */
  readF64(va: number): number {
    const off = va & OFF;
    const page = va - off;
    const i = (va >>> PAGE_SHIFT) & MASK;
    if (this.readTag[i] === page && off <= PAGE_SIZE - 8) return this.dv.getFloat64(this.word[i]! * 4 + off, true);
    const lo = this.readSlow(va, 4);
    const hi = this.readSlow(va + 4, 4);
    this.scratch.setUint32(0, lo, true);
    this.scratch.setUint32(4, hi, true);
    return this.scratch.getFloat64(0, true);
  }

  /** Unsigned 64-bit value at `va` as a BigInt (the boundary form for 64-bit values). */
  read64(va: number): bigint {
    const lo = BigInt(this.readSlow(va, 4));
    const hi = BigInt(this.readSlow(va + 4, 4));
    return (hi << 32n) | lo;
  }

  private readonly scratch = new DataView(new ArrayBuffer(8));

  /** Little-endian unsigned load of `size` (2 or 4) bytes that may be unaligned or cross a page. */
  private readSlow(va: number, size: number): number {
    const off = va & OFF;
    if (off <= PAGE_SIZE - size) {
      const pa = this.physical(va, ACCESS.READ);
      return size === 2 ? this.dv.getUint16(pa, true) : this.dv.getUint32(pa, true);
    }
    // Crosses a page: bytes in address order, so the fault names the first bad byte.
    let v = 0;
    for (let k = 0, mul = 1; k < size; k++, mul *= 256) v += this.read8(va + k) * mul;
    return v;
  }

  /** Stores the low byte of `value` at `va`. */
  write8(va: number, value: number): void {
    const off = va & OFF;
    const page = va - off;
    const i = (va >>> PAGE_SHIFT) & MASK;
    if (this.writeTag[i] === page) this.u8[this.word[i]! * 4 + off] = value;
    else this.u8[this.physical(va, ACCESS.WRITE)] = value;
  }

  /** Stores the low 16 bits of `value` at `va`. */
  write16(va: number, value: number): void {
    const off = va & OFF;
    const page = va - off;
    const i = (va >>> PAGE_SHIFT) & MASK;
    if (this.writeTag[i] === page && off <= PAGE_SIZE - 2) this.dv.setUint16(this.word[i]! * 4 + off, value, true);
    else this.writeSlow(va, value, 2);
  }

  /** Stores 32-bit `value` at `va`. */
  write32(va: number, value: number): void {
    const off = va & OFF;
    const page = va - off;
    const i = (va >>> PAGE_SHIFT) & MASK;
    if (this.writeTag[i] === page && (off & 3) === 0) this.i32[this.word[i]! + (off >> 2)] = value;
    else this.writeSlow(va, value, 4);
  }

  /** Stores a 64-bit float at `va`. */
  writeF64(va: number, value: number): void {
    const off = va & OFF;
    const page = va - off;
    const i = (va >>> PAGE_SHIFT) & MASK;
    if (this.writeTag[i] === page && off <= PAGE_SIZE - 8) {
      this.dv.setFloat64(this.word[i]! * 4 + off, value, true);
      return;
    }
    this.scratch.setFloat64(0, value, true);
    this.writeSlow(va, this.scratch.getUint32(0, true), 4);
    this.writeSlow(va + 4, this.scratch.getUint32(4, true), 4);
  }

  /** Stores the low 64 bits of `value` at `va`. */
  write64(va: number, value: bigint): void {
    this.writeSlow(va, Number(BigInt.asUintN(32, value)), 4);
    this.writeSlow(va + 4, Number(BigInt.asUintN(32, value >> 32n)), 4);
  }

  private writeSlow(va: number, value: number, size: number): void {
    const off = va & OFF;
    if (off <= PAGE_SIZE - size) {
      const pa = this.physical(va, ACCESS.WRITE);
      if (size === 2) this.dv.setUint16(pa, value, true);
      else this.dv.setUint32(pa, value >>> 0, true);
      return;
    }
    // Check both pages (in address order) before storing anything, so a fault leaves memory untouched.
    const next = va + size - 1;
    this.physical(va, ACCESS.WRITE);
    this.physical(next - (next & OFF), ACCESS.WRITE);
    let v = value >>> 0;
    for (let k = 0; k < size; k++) {
      this.write8(va + k, v & 0xff);
      v >>>= 8;
    }
  }

  /** Copies `length` bytes at `va` into `dst` from `dstOffset`. Throws SegmentationFault at the first bad page. */
  readBytes(va: number, dst: Uint8Array, dstOffset: number, length: number): void {
    let done = 0;
    while (done < length) {
      const pa = this.physical(va + done, ACCESS.READ);
      const n = Math.min(length - done, PAGE_SIZE - ((va + done) & OFF));
      if (n >= BULK_MIN) dst.set(this.u8.subarray(pa, pa + n), dstOffset + done);
      else for (let k = 0; k < n; k++) dst[dstOffset + done + k] = this.u8[pa + k]!;
      done += n;
    }
  }

  /** Copies `length` bytes of `src` from `srcOffset` to `va`. Pages before a faulting one are written. */
  writeBytes(va: number, src: Uint8Array, srcOffset: number, length: number): void {
    let done = 0;
    while (done < length) {
      const pa = this.physical(va + done, ACCESS.WRITE);
      const n = Math.min(length - done, PAGE_SIZE - ((va + done) & OFF));
      if (n >= BULK_MIN) this.u8.set(src.subarray(srcOffset + done, srcOffset + done + n), pa);
      else for (let k = 0; k < n; k++) this.u8[pa + k] = src[srcOffset + done + k]!;
      done += n;
    }
  }

  /** Sets `length` bytes at `va` to `byte`. */
  fill(va: number, byte: number, length: number): void {
    let done = 0;
    while (done < length) {
      const pa = this.physical(va + done, ACCESS.WRITE);
      const n = Math.min(length - done, PAGE_SIZE - ((va + done) & OFF));
      this.u8.fill(byte, pa, pa + n);
      done += n;
    }
  }

  /** memmove: copies `length` bytes from `src` to `dst` (virtual); overlapping ranges are handled. */
  copy(dst: number, src: number, length: number): void {
    if (dst === src || length <= 0) return;
    if (dst < src || dst >= src + length) {
      for (let k = 0; k < length; k++) this.write8(dst + k, this.read8(src + k));
    } else {
      for (let k = length - 1; k >= 0; k--) this.write8(dst + k, this.read8(src + k));
    }
  }

  /**
   * A zero-copy byte view of [va, va + length) when the range is physically
   * contiguous, else null. `writable` checks write access and marks every page
   * dirty up front (stores through the view bypass the TLB). The view stays
   * valid until the mapping changes; using it after munmap is a use-after-free.
   */
  view(va: number, length: number, writable: boolean): Uint8Array | null {
    const pa = this.contiguous(va, length, writable);
    return pa < 0 ? null : new Uint8Array(this.buffer, pa, length);
  }

  /** Like view(), as an Int32Array of `count` elements (`va` must be 4-aligned, else null). */
  viewInt32(va: number, count: number, writable: boolean): Int32Array | null {
    if (va % 4 !== 0) return null;
    const pa = this.contiguous(va, count * 4, writable);
    return pa < 0 ? null : new Int32Array(this.buffer, pa, count);
  }

  /** Like view(), as a Float64Array of `count` elements (`va` must be 8-aligned, else null). */
  viewFloat64(va: number, count: number, writable: boolean): Float64Array | null {
    if (va % 8 !== 0) return null;
    const pa = this.contiguous(va, count * 8, writable);
    return pa < 0 ? null : new Float64Array(this.buffer, pa, count);
  }

  /** Physical start of [va, va+length) if contiguous (throws on a fault), else -1. */
  private contiguous(va: number, length: number, writable: boolean): number {
    const access = writable ? ACCESS.WRITE : ACCESS.READ;
    const pa = this.physical(va, access);
    if (length <= 0) return pa;
    const first = va - (va & OFF);
    for (let page = first + PAGE_SIZE; page < va + length; page += PAGE_SIZE) {
      if (this.physical(page, access) !== pa - (va - first) + (page - first)) return -1;
    }
    return pa;
  }
}
