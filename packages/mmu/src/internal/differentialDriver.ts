/**
 * Drives a differential run: turns abstract plan steps into concrete
 * operations (addresses from earlier mappings), runs each on a vCPU through
 * `exec`, applies it to the ReferenceModel and compares. Used by the one-vCPU
 * and the two-vCPU differential tests.
 */
import { FAULT } from '../errors.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MREMAP_FIXED, MREMAP_MAYMOVE } from '../mmapFlags.js';
import { PAGE_SIZE } from '../pageTableEntry.js';
import { ReferenceModel } from './referenceModel.js';
import { patternBytes, type DiffOp, type DiffOutcome } from './differentialOps.js';

/** One abstract step (what fast-check generates). */
export interface PlanStep {
  /** Which vCPU runs it. */
  cpu: number;
  /** 0 mmap, 1 munmap, 2 mprotect, 3 dontneed, 4 mremap, 5 write, 6 read, 7 write32, 8 read32. */
  kind: number;
  /** Which earlier mapping the address is taken from. */
  region: number;
  /** Page offset into that mapping (may run past its end). */
  pageOff: number;
  /** Byte offset within the page for reads and writes. */
  byteOff: number;
  /** Pages (or bytes for reads/writes). */
  size: number;
  prot: number;
  /** mmap: 0 private anon, 1 shared anon, 2 private file, 3 shared file. mremap: 0 may move, 1 fixed. */
  variant: number;
  /** mmap: MAP_FIXED at the region address. */
  fixed: boolean;
  /** File id / page offset of file mappings; pattern seed of writes. */
  arg: number;
}

/** Files the run maps: id → content. */
export type DiffFiles = ReadonlyMap<number, Uint8Array>;

function errName(code: number): string {
  return Object.entries(FAULT).find(([, v]) => v === code)?.[0] ?? String(code);
}

/** The driver. */
export class DifferentialDriver {
  readonly model = new ReferenceModel();
  private readonly regions: { base: number; pages: number }[] = [];
  /** Operations run, for failure reports. */
  readonly log: string[] = [];

  constructor(
    files: DiffFiles,
    private readonly exec: (cpu: number, op: DiffOp) => DiffOutcome,
  ) {
    for (const [id, content] of files) this.model.addFile(id, content);
  }

  /** Runs one step; returns a mismatch description or null. */
  step(s: PlanStep): string | null {
    const op = this.resolve(s);
    if (op === null) return null;
    this.log.push(`cpu${s.cpu} ${JSON.stringify(op)}`);
    const got = this.exec(s.cpu, op);
    const r = this.check(op, got);
    return r === null ? null : `${r}\n  after:\n  ${this.log.slice(-12).join('\n  ')}`;
  }

  private resolve(s: PlanStep): DiffOp | null {
    const r = this.regions.length === 0 ? null : this.regions[s.region % this.regions.length]!;
    if (s.kind === 0 || r === null) {
      const variant = s.variant & 3;
      const anon = variant < 2;
      const flags = (variant & 1 ? MAP_SHARED : MAP_PRIVATE) | (anon ? MAP_ANONYMOUS : 0) | (s.fixed && r !== null ? MAP_FIXED : 0);
      const addr = s.fixed && r !== null ? r.base + s.pageOff * PAGE_SIZE : 0;
      return { k: 'mmap', addr, len: s.size * PAGE_SIZE, prot: s.prot, flags, file: anon ? -1 : s.arg & 1, offset: anon ? 0 : (s.arg >>> 1) % 6 * PAGE_SIZE };
    }
    const addr = r.base + s.pageOff * PAGE_SIZE;
    const len = s.size * PAGE_SIZE;
    switch (s.kind) {
      case 1:
        return { k: 'munmap', addr, len };
      case 2:
        return { k: 'mprotect', addr, len, prot: s.prot };
      case 3:
        return { k: 'dontneed', addr, len };
      case 4: {
        const fixed = (s.variant & 1) === 1 && this.regions.length > 1;
        const other = this.regions[(s.region + 1) % this.regions.length]!;
        const newLen = Math.max(1, s.arg % 1200) * PAGE_SIZE;
        const newAddr = fixed ? other.base + (s.pageOff % 4) * PAGE_SIZE : 0;
        return { k: 'mremap', addr, oldLen: len, newLen, flags: MREMAP_MAYMOVE | (fixed ? MREMAP_FIXED : 0), newAddr };
      }
      case 5:
        return { k: 'write', addr: addr + s.byteOff, len: Math.min(s.size, 3 * PAGE_SIZE) || 1, seed: s.arg };
      case 6:
        return { k: 'read', addr: addr + s.byteOff, len: Math.min(s.size, 3 * PAGE_SIZE) || 1 };
      case 7:
        return { k: 'write32', addr: addr + s.byteOff, value: s.arg | 0 };
      default:
        return { k: 'read32', addr: addr + s.byteOff };
    }
  }

  private expectFault(what: string, want: { address: number; code: number } | null, got: DiffOutcome): string | null {
    if (got.error !== undefined) return `${what}: unexpected error ${got.error}`;
    if (want === null && got.fault !== undefined) return `${what}: unexpected fault ${errName(got.fault.code)} at 0x${got.fault.address.toString(16)}`;
    if (want !== null && got.fault === undefined) return `${what}: expected fault ${errName(want.code)} at 0x${want.address.toString(16)}, got none`;
    if (want !== null && got.fault !== undefined && (want.address !== got.fault.address || want.code !== got.fault.code)) {
      return `${what}: expected fault ${errName(want.code)} at 0x${want.address.toString(16)}, got ${errName(got.fault.code)} at 0x${got.fault.address.toString(16)}`;
    }
    return null;
  }

  private expectErrno(what: string, want: string | 0, got: DiffOutcome): string | null {
    const g = got.error ?? (got.fault !== undefined ? 'fault' : 0);
    return g === want ? null : `${what}: expected ${want || 'success'}, got ${g || 'success'}`;
  }

  private check(op: DiffOp, got: DiffOutcome): string | null {
    const m = this.model;
    switch (op.k) {
      case 'mmap': {
        if (got.value === undefined) return `mmap failed: ${got.error}`;
        const at = got.value;
        if (op.flags & MAP_FIXED) {
          if (at !== op.addr) return `mmap MAP_FIXED returned 0x${at.toString(16)}`;
          m.munmap(at, op.len);
        } else if (m.anyMapped(at, op.len)) return `mmap placed 0x${at.toString(16)} over a live mapping`;
        m.mmap(at, op.len, op.prot, op.flags, op.file, op.offset);
        this.regions.push({ base: at, pages: op.len / PAGE_SIZE });
        return null;
      }
      case 'munmap':
        m.munmap(op.addr, op.len);
        return this.expectErrno('munmap', 0, got);
      case 'mprotect':
        return this.expectErrno('mprotect', m.mprotect(op.addr, op.len, op.prot), got);
      case 'dontneed':
        return this.expectErrno('madvise', m.dontneed(op.addr, op.len), got);
      case 'mremap':
        return this.checkRemap(op, got);
      case 'write':
        return this.expectFault('write', m.write(op.addr, patternBytes(op.len, op.seed)), got);
      case 'write32': {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setInt32(0, op.value, true);
        return this.expectFault('write32', m.write(op.addr, b, true), got);
      }
      case 'read': {
        const want = m.read(op.addr, op.len);
        const f = this.expectFault('read', want.fault, got);
        if (f !== null || want.fault !== null) return f;
        const k = want.bytes.findIndex((b, i) => got.bytes![i] !== b);
        return k < 0 ? null : `read: byte at 0x${(op.addr + k).toString(16)} is ${got.bytes![k]}, model says ${want.bytes[k]}`;
      }
      case 'read32': {
        const want = m.read(op.addr, 4);
        const f = this.expectFault('read32', want.fault, got);
        if (f !== null || want.fault !== null) return f;
        const v = new DataView(want.bytes.buffer).getInt32(0, true);
        return v === got.value ? null : `read32 at 0x${op.addr.toString(16)}: ${got.value}, model says ${v}`;
      }
    }
  }

  private checkRemap(op: Extract<DiffOp, { k: 'mremap' }>, got: DiffOutcome): string | null {
    const m = this.model;
    const fixed = (op.flags & MREMAP_FIXED) !== 0;
    if (fixed && op.newAddr < op.addr + op.oldLen && op.addr < op.newAddr + op.newLen) return this.expectErrno('mremap', 'EINVAL', got);
    if (!m.oneMapping(op.addr, op.oldLen)) return this.expectErrno('mremap', 'EFAULT', got);
    if (got.value === undefined) return `mremap failed: ${got.error}`;
    const to = got.value;
    if (fixed) {
      if (to !== op.newAddr) return `mremap MREMAP_FIXED returned 0x${to.toString(16)}`;
      m.munmap(to, op.newLen);
    } else if (to === op.addr) {
      if (op.newLen > op.oldLen && m.anyMapped(op.addr + op.oldLen, op.newLen - op.oldLen)) return 'mremap grew in place over a live mapping';
    } else {
      if (m.anyMapped(to, op.newLen)) return `mremap moved onto a live mapping at 0x${to.toString(16)}`;
    }
    return this.remapModel(op, to);
  }

  private remapModel(op: Extract<DiffOp, { k: 'mremap' }>, to: number): null {
    this.model.mremap(op.addr, op.oldLen, op.newLen, to);
    this.regions.push({ base: to, pages: op.newLen / PAGE_SIZE });
    return null;
  }

  /** Every page any mapping of the run ever covered, ascending. */
  mappedPages(): number[] {
    const out: number[] = [];
    for (const r of this.regions) for (let k = 0; k < r.pages; k++) out.push(r.base + k * PAGE_SIZE);
    return [...new Set(out)].sort((a, b) => a - b);
  }

  /**
   * Reads every page the run ever mapped (on vCPUs taking turns from `firstCpu`)
   * and compares bytes and faults with the model; a mismatch description or null.
   */
  sweep(firstCpu: number, cpus = 1): string | null {
    let n = 0;
    for (const va of this.mappedPages()) {
      const want = this.model.read(va, PAGE_SIZE);
      const got = this.exec((firstCpu + n++) % cpus, { k: 'read', addr: va, len: PAGE_SIZE });
      const f = this.expectFault(`sweep 0x${va.toString(16)}`, want.fault, got);
      if (f !== null) return f;
      if (want.fault !== null) continue;
      const k = firstDifference(got.bytes!, want.bytes);
      if (k >= 0) return `sweep: byte at 0x${(va + k).toString(16)} is ${got.bytes![k]}, model says ${want.bytes[k]}`;
    }
    return null;
  }
}

/** Index of the first byte where a and b differ (or their lengths do), -1 if equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
