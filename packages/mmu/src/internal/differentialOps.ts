/**
 * Operations of the differential test, as plain data (so a driver can send
 * them to a vCPU worker), and how a vCPU runs one against a real Mmu. The
 * driver resolves every address before dispatch, so the model and the real
 * system see the same numbers whichever vCPU runs the operation.
 */
import { MmuError, SegmentationFault } from '../errors.js';
import type { Mmu } from '../mmu.js';
import { MADV_DONTNEED } from '../mmapFlags.js';

/** One operation with concrete arguments. */
export type DiffOp =
  | { k: 'mmap'; addr: number; len: number; prot: number; flags: number; file: number; offset: number }
  | { k: 'munmap'; addr: number; len: number }
  | { k: 'mprotect'; addr: number; len: number; prot: number }
  | { k: 'dontneed'; addr: number; len: number }
  | { k: 'mremap'; addr: number; oldLen: number; newLen: number; flags: number; newAddr: number }
  | { k: 'write'; addr: number; len: number; seed: number }
  | { k: 'read'; addr: number; len: number }
  | { k: 'write32'; addr: number; value: number }
  | { k: 'read32'; addr: number };

/** What the real system did. */
export interface DiffOutcome {
  value?: number;
  bytes?: Uint8Array;
  error?: string;
  fault?: { address: number; code: number };
}

/** Deterministic bytes for a write op. */
export function patternBytes(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed | 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Runs `op` on `mmu`, catching the typed errors into the outcome (any other error propagates). */
export function runDiffOp(mmu: Mmu, op: DiffOp): DiffOutcome {
  try {
    switch (op.k) {
      case 'mmap':
        return { value: mmu.mmap(op.addr, op.len, op.prot, op.flags, op.file, op.offset) };
      case 'munmap':
        mmu.munmap(op.addr, op.len);
        return {};
      case 'mprotect':
        mmu.mprotect(op.addr, op.len, op.prot);
        return {};
      case 'dontneed':
        mmu.madvise(op.addr, op.len, MADV_DONTNEED);
        return {};
      case 'mremap':
        return { value: mmu.mremap(op.addr, op.oldLen, op.newLen, op.flags, op.newAddr) };
      case 'write':
        mmu.mem.writeBytes(op.addr, patternBytes(op.len, op.seed), 0, op.len);
        return {};
      case 'read': {
        const bytes = new Uint8Array(op.len);
        mmu.mem.readBytes(op.addr, bytes, 0, op.len);
        return { bytes };
      }
      case 'write32':
        mmu.mem.write32(op.addr, op.value);
        return {};
      case 'read32':
        return { value: mmu.mem.read32(op.addr) };
    }
  } catch (e) {
    if (e instanceof SegmentationFault) return { fault: { address: e.address, code: e.fault } };
    if (e instanceof MmuError) return { error: e.code };
    throw e;
  }
}
