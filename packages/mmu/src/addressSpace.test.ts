/**
 * The address space's calls one by one: placement and MAP_FIXED, argument
 * errors, guard pages and PROT_NONE faults naming address, access and
 * mapping, file mappings (shared, private copy-on-write, past end of file),
 * msync and the dirty-page query, mremap moving page-table entries rather
 * than bytes, madvise, and TLB shootdown between two vCPUs of one thread.
 */
import { describe, expect, it } from 'vitest';
import { testMachine } from './internal/testMachine.js';
import { Mmu } from './mmu.js';
import { InMemoryPageProvider } from './inMemoryPageProvider.js';
import { ACCESS, FAULT, MmuError, SegmentationFault } from './errors.js';
import {
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MS_SYNC,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from './mmapFlags.js';
import { HUGE_PAGE_SIZE } from './pageTableEntry.js';
import { MMAP_BASE } from './addressLayout.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function fault(f: () => unknown): SegmentationFault {
  try {
    f();
  } catch (e) {
    if (e instanceof SegmentationFault) return e;
    throw e;
  }
  throw new Error('expected a SegmentationFault');
}

function withFiles(bytes = 32 << 20): { mmu: Mmu; files: InMemoryPageProvider; memory: SharedArrayBuffer } {
  const memory = new SharedArrayBuffer(bytes);
  const boot = Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: bytes - 0x20_0000 }] });
  const files = new InMemoryPageProvider(memory, boot.pages);
  files.addFile(3, new TextEncoder().encode('hello, file!'.repeat(1000))); // 12000 bytes: 3 pages
  boot.detach();
  return { mmu: Mmu.attach({ memory, cpu: 0, stateAddress: boot.stateAddress, files }), files, memory };
}

describe('mmap and friends', () => {
  it('places mappings from MMAP_BASE, 2 MiB aligned when large, and honours MAP_FIXED and MAP_FIXED_NOREPLACE', () => {
    const mmu = testMachine(16 << 20);
    const a = mmu.mmap(0, 4096, RW, ANON);
    expect(a).toBe(MMAP_BASE);
    const big = mmu.mmap(0, HUGE_PAGE_SIZE, RW, ANON);
    expect(big % HUGE_PAGE_SIZE).toBe(0);
    mmu.mem.write32(a, 5);
    const f = mmu.mmap(a, 4096, PROT_READ, ANON | MAP_FIXED);
    expect(f).toBe(a);
    expect(mmu.mem.read32(a)).toBe(0); // replaced by a fresh zero page
    expect(() => mmu.mmap(a, 4096, RW, ANON | MAP_FIXED_NOREPLACE)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  });

  it('rejects bad arguments with EINVAL', () => {
    const mmu = testMachine(16 << 20);
    const bad: (() => unknown)[] = [
      () => mmu.mmap(0, 0, RW, ANON),
      () => mmu.mmap(0, 4096, 8, ANON),
      () => mmu.mmap(0, 4096, RW, MAP_ANONYMOUS),
      () => mmu.mmap(0, 4096, RW, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS),
      () => mmu.mmap(123, 4096, RW, ANON | MAP_FIXED),
      () => mmu.mmap(0, 4096, RW, MAP_PRIVATE, 3), // no page provider
      () => mmu.munmap(MMAP_BASE + 1, 4096),
      () => mmu.munmap(0, 4096), // below mmap_min_addr
      () => mmu.mprotect(MMAP_BASE, 4096, 16),
      () => mmu.madvise(MMAP_BASE, 4096, 99),
    ];
    for (const f of bad) expect(f).toThrow(expect.objectContaining({ code: 'EINVAL', errno: 22 }));
  });

  it('faults on guard pages and PROT_NONE with the address, the access and the mapping', () => {
    const mmu = testMachine(16 << 20);
    const a = mmu.mmap(0, 3 * 4096, RW, ANON);
    mmu.munmap(a + 4096, 4096); // a guard page in the middle
    const g = fault(() => mmu.mem.write8(a + 4096 + 7, 1));
    expect(g).toMatchObject({ address: a + 4096 + 7, access: 'write', fault: FAULT.MAPERR, mapping: null });
    mmu.mprotect(a, 4096, PROT_NONE);
    const n = fault(() => mmu.mem.read8(a + 3));
    expect(n).toMatchObject({ address: a + 3, access: 'read', fault: FAULT.ACCERR });
    expect(n.mapping).toMatchObject({ start: a, end: a + 4096, prot: PROT_NONE, kind: 'anonymous' });
    mmu.mprotect(a + 2 * 4096, 4096, PROT_READ);
    expect(fault(() => mmu.mem.write32(a + 2 * 4096, 1)).fault).toBe(FAULT.ACCERR);
    expect(mmu.mem.read32(a + 2 * 4096)).toBe(0);
  });

  it('keeps the page under PROT_NONE and gives it back when access returns', () => {
    const mmu = testMachine(16 << 20);
    const a = mmu.mmap(0, 4096, RW, ANON);
    mmu.mem.write32(a, 99);
    mmu.mprotect(a, 4096, PROT_NONE);
    expect(mmu.memInfo().anonPages).toBe(4096);
    mmu.mprotect(a, 4096, PROT_READ);
    expect(mmu.mem.read32(a)).toBe(99);
  });

  it('checks PROT_EXEC through the execute-disable bit', () => {
    const mmu = testMachine(16 << 20);
    const a = mmu.mmap(0, 4096, RW, ANON);
    expect(() => mmu.mem.checkExec(a)).toThrow(SegmentationFault);
    mmu.mprotect(a, 4096, PROT_READ | PROT_EXEC);
    expect(() => mmu.mem.checkExec(a)).not.toThrow();
  });

  it('populates with MAP_POPULATE', () => {
    const mmu = testMachine(16 << 20, { hugePages: false });
    mmu.mmap(0, 10 * 4096, RW, ANON | MAP_POPULATE);
    expect(mmu.memInfo().anonPages).toBe(10 * 4096);
  });

  it('MADV_DONTNEED zero-fills private anonymous memory but keeps shared anonymous memory', () => {
    const mmu = testMachine(16 << 20);
    const p = mmu.mmap(0, 4096, RW, ANON);
    const s = mmu.mmap(0, 4096, RW, MAP_SHARED | MAP_ANONYMOUS);
    mmu.mem.write32(p, 1);
    mmu.mem.write32(s, 2);
    mmu.madvise(p, 4096, MADV_DONTNEED);
    mmu.madvise(s, 4096, MADV_DONTNEED);
    expect(mmu.mem.read32(p)).toBe(0);
    expect(mmu.mem.read32(s)).toBe(2);
    expect(() => mmu.madvise(p, 3 * 4096, MADV_DONTNEED)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
  });
});

describe('file mappings', () => {
  it('shares writes through MAP_SHARED and copies on write under MAP_PRIVATE', () => {
    const { mmu, files } = withFiles();
    const s = mmu.mmap(0, 3 * 4096, RW, MAP_SHARED, 3, 0);
    const p = mmu.mmap(0, 3 * 4096, RW, MAP_PRIVATE, 3, 0);
    expect(mmu.mem.read8(p)).toBe('h'.charCodeAt(0));
    mmu.mem.write8(s, 'J'.charCodeAt(0));
    expect(mmu.mem.read8(p)).toBe('J'.charCodeAt(0)); // not yet copied: sees the file
    expect(files.read(3)[0]).toBe('J'.charCodeAt(0));
    mmu.mem.write8(p + 1, 'E'.charCodeAt(0)); // copy-on-write
    expect(files.read(3)[1]).toBe('e'.charCodeAt(0));
    mmu.mem.write8(s + 2, 'L'.charCodeAt(0));
    expect(mmu.mem.read8(p + 2)).toBe('l'.charCodeAt(0)); // the copy no longer follows the file
    expect(mmu.mem.read8(p + 1)).toBe('E'.charCodeAt(0));
  });

  it('raises a bus error past the end of the file and maps from an offset', () => {
    const { mmu } = withFiles();
    const m = mmu.mmap(0, 5 * 4096, PROT_READ, MAP_PRIVATE, 3, 4096);
    expect(mmu.mem.read8(m)).toBe('hello, file!'.charCodeAt(4096 % 12));
    expect(mmu.mem.read8(m + 4096 + 12000 - 8192)).toBe(0); // past EOF in the last page: zeros
    expect(fault(() => mmu.mem.read8(m + 2 * 4096)).fault).toBe(FAULT.BUS);
  });

  it('msync writes dirty shared pages back and cleans them', () => {
    const memory = new SharedArrayBuffer(32 << 20);
    const boot = Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: (32 << 20) - 0x20_0000 }] });
    const files = new InMemoryPageProvider(memory, boot.pages);
    files.addFile(1, new Uint8Array(3 * 4096));
    boot.detach();
    const mmu = Mmu.attach({ memory, cpu: 1, stateAddress: boot.stateAddress, files });
    const s = mmu.mmap(0, 3 * 4096, RW, MAP_SHARED, 1, 0);
    mmu.mem.write32(s + 4096, 1);
    mmu.msync(s, 3 * 4096, MS_SYNC);
    expect(files.writes).toEqual(['1:4096']);
    mmu.msync(s, 3 * 4096, MS_SYNC);
    expect(files.writes).toEqual(['1:4096']);
    mmu.mem.write32(s + 4096, 2); // cleaned: the write must set the dirty bit again
    mmu.msync(s, 3 * 4096, MS_SYNC);
    expect(files.writes).toEqual(['1:4096', '1:4096']);
    expect(() => mmu.msync(s, 4 * 4096, MS_SYNC)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
  });
});

describe('dirty tracking', () => {
  it('reports and clears the pages written since the last query', () => {
    const mmu = testMachine(16 << 20, { hugePages: false });
    const a = mmu.mmap(0, 8 * 4096, RW, ANON);
    mmu.mem.read32(a);
    mmu.mem.write32(a + 2 * 4096, 1);
    mmu.mem.write32(a + 5 * 4096 + 4092, 1);
    const out = new Uint8Array(8);
    expect(mmu.queryDirty(a, out)).toBe(2);
    expect([...out]).toEqual([0, 0, 1, 0, 0, 1, 0, 0]);
    expect(mmu.queryDirty(a, out)).toBe(0);
    mmu.mem.write32(a + 2 * 4096, 2); // the TLB entry was dropped: the write walks and sets D
    expect(mmu.queryDirty(a, out, false)).toBe(1);
    expect(mmu.queryDirty(a, out)).toBe(1);
  });

  it('reports a written 2 MiB leaf as all its pages and splits it to clear part of it', () => {
    const mmu = testMachine(32 << 20);
    const a = mmu.mmap(0, HUGE_PAGE_SIZE, RW, ANON);
    mmu.mem.write32(a, 1);
    const part = new Uint8Array(4);
    expect(mmu.queryDirty(a + 4096, part)).toBe(4);
    const all = new Uint8Array(512);
    expect(mmu.queryDirty(a, all)).toBe(508);
    expect(all[1]).toBe(0);
    expect(all[0]).toBe(1);
  });
});

describe('mremap', () => {
  it('moves page-table entries, not bytes: the frames stay the same', () => {
    const mmu = testMachine(32 << 20, { hugePages: false });
    const a = mmu.mmap(0, 4 * 4096, RW, ANON);
    mmu.mmap(a + 4 * 4096, 4096, PROT_READ, ANON | MAP_FIXED); // blocks growth in place
    for (let k = 0; k < 4; k++) mmu.mem.write32(a + k * 4096, 100 + k);
    const frames = [0, 1, 2, 3].map((k) => mmu.mem.translate(a + k * 4096, ACCESS.READ));
    const b = mmu.mremap(a, 4 * 4096, 8 * 4096, MREMAP_MAYMOVE);
    expect(b).not.toBe(a);
    expect([0, 1, 2, 3].map((k) => mmu.mem.translate(b + k * 4096, ACCESS.READ))).toEqual(frames);
    for (let k = 0; k < 4; k++) expect(mmu.mem.read32(b + k * 4096)).toBe(100 + k);
    expect(mmu.mem.read32(b + 6 * 4096)).toBe(0);
    expect(fault(() => mmu.mem.read32(a)).fault).toBe(FAULT.MAPERR);
    expect(mmu.memInfo().anonPages).toBe(5 * 4096); // moved pages, not copies, plus the new zero page
  });

  it('moves a 2 MiB leaf whole to an aligned destination', () => {
    const mmu = testMachine(32 << 20);
    const a = mmu.mmap(0, HUGE_PAGE_SIZE, RW, ANON);
    mmu.mem.write32(a + 4096, 7);
    const phys = mmu.mem.translate(a + 4096, ACCESS.READ);
    const dest = mmu.mmap(0, HUGE_PAGE_SIZE, RW, ANON);
    const b = mmu.mremap(a, HUGE_PAGE_SIZE, HUGE_PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
    expect(b).toBe(dest);
    expect(mmu.mem.translate(b + 4096, ACCESS.READ)).toBe(phys);
    expect(mmu.memInfo().anonHugePages).toBe(HUGE_PAGE_SIZE);
    expect(mmu['as'].pt.lookup(b)).toBe(2);
  });

  it('grows in place when it can, shrinks, and refuses ranges that span mappings', () => {
    const mmu = testMachine(16 << 20);
    const a = mmu.mmap(0, 4096, RW, ANON);
    expect(mmu.mremap(a, 4096, 3 * 4096, 0)).toBe(a);
    expect(mmu.mremap(a, 3 * 4096, 4096, 0)).toBe(a);
    expect(fault(() => mmu.mem.read8(a + 4096)).fault).toBe(FAULT.MAPERR);
    mmu.mmap(a + 4096, 4096, PROT_READ, ANON | MAP_FIXED);
    expect(() => mmu.mremap(a, 2 * 4096, 4 * 4096, MREMAP_MAYMOVE)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(() => mmu.mremap(a, 4096, 4 * 4096, 0)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
  });
});

describe('TLB shootdown', () => {
  it('after munmap or mprotect returns, no vCPU uses the old translation', () => {
    const a = testMachine(16 << 20);
    const memory = a['m'].buffer;
    const cpus: Mmu[] = [];
    // Synchronous IPIs: in one thread the "other vCPU" acknowledges at once.
    const ipi = { sendTlbShootdown: (cpu: number) => cpus[cpu]!.serviceTlbShootdown() };
    const v0 = Mmu.attach({ memory, cpu: 2, stateAddress: a.stateAddress, ipi });
    const v1 = Mmu.attach({ memory, cpu: 3, stateAddress: a.stateAddress, ipi });
    a.detach();
    cpus[2] = v0;
    cpus[3] = v1;
    const p = v0.mmap(0, 4096, RW, ANON);
    v0.mem.write32(p, 1);
    expect(v1.mem.read32(p)).toBe(1); // v1 now caches the translation
    v1.mem.write32(p, 2);
    v0.mprotect(p, 4096, PROT_READ);
    expect(fault(() => v1.mem.write32(p, 3)).fault).toBe(FAULT.ACCERR);
    v0.munmap(p, 4096);
    expect(fault(() => v1.mem.read32(p)).fault).toBe(FAULT.MAPERR);
    expect(v1.mem.translate(p, ACCESS.READ)).toBe(FAULT.MAPERR);
  });

  it('rejects attaching to memory that holds no mmu state', () => {
    expect(() => Mmu.attach({ memory: new SharedArrayBuffer(1 << 20), cpu: 1, stateAddress: 0x1000 })).toThrow(MmuError);
  });
});
