/**
 * Commands of the concurrent tests that each vCPU runs the same way (the test
 * thread as vCPU 0, a worker as vCPU 1): hammer a shared mapping while
 * churning private mappings, and malloc/free across vCPUs. Test support.
 */
import type { Mmu } from '../mmu.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../mmapFlags.js';
import { PAGE_SIZE } from '../pageTableEntry.js';

/** A concurrent-test command. */
export type VcpuCommand =
  | { cmd: 'hammer'; base: number; pages: number; parity: number; rounds: number; tag: number }
  | { cmd: 'malloc'; count: number; size: number; tag: number }
  | { cmd: 'free'; pointers: number[] }
  | { cmd: 'drain' }
  | { cmd: 'cache'; entry: number }
  | { cmd: 'uncache' }
  | { cmd: 'check'; pointers: number[]; size: number; tag: number };

/** A shrinkable cache of malloc'd entries on this vCPU (the 'cache' command), and its shrinker. */
const cache: number[] = [];
let cacheShrinker: { unregister(): void } | null = null;

/** Word a vCPU writes at offset `k` of page `p` in round `r`. */
export function hammerValue(tag: number, p: number, k: number, r: number): number {
  return (tag * 0x1000193) ^ (p * 0x9e3779b1) ^ (k << 8) ^ r;
}

/**
 * Runs a command; returns plain data (errors as { error }). `hammer` writes
 * pages of its parity in `rounds` passes, reading back the previous pass, and
 * maps, writes and unmaps a private scratch region between passes (so the
 * other vCPU sees shootdowns mid-run).
 */
export function runVcpuCommand(mmu: Mmu, c: VcpuCommand): unknown {
  switch (c.cmd) {
    case 'hammer': {
      for (let r = 0; r < c.rounds; r++) {
        for (let p = c.parity; p < c.pages; p += 2) {
          for (let k = 0; k < 16; k++) {
            const va = c.base + p * PAGE_SIZE + k * 256;
            if (r > 0 && mmu.mem.read32(va) !== (hammerValue(c.tag, p, k, r - 1) | 0)) return { error: `lost write at 0x${va.toString(16)} round ${r}` };
            mmu.mem.write32(va, hammerValue(c.tag, p, k, r));
          }
        }
        const scratch = mmu.mmap(0, 64 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        for (let p = 0; p < 64; p += 7) mmu.mem.write32(scratch + p * PAGE_SIZE, p);
        mmu.munmap(scratch, 64 * PAGE_SIZE);
        mmu.serviceTlbShootdown();
      }
      return { ok: true };
    }
    case 'malloc': {
      const out: number[] = [];
      for (let i = 0; i < c.count; i++) {
        const p = mmu.malloc(c.size);
        if (p === 0) return { error: 'malloc returned NULL' };
        mmu.mem.write32(p, c.tag + i);
        out.push(p);
      }
      return { pointers: out };
    }
    case 'check': {
      for (let i = 0; i < c.pointers.length; i++) {
        if (mmu.mem.read32(c.pointers[i]!) !== c.tag + i) return { error: `object ${i} at 0x${c.pointers[i]!.toString(16)} changed` };
      }
      return { ok: true };
    }
    case 'free':
      for (const p of c.pointers) mmu.free(p);
      return { ok: true };
    case 'drain':
      mmu.drainRemoteFrees();
      return { ok: true };
    case 'cache': {
      // Grow into free memory down to near the low watermark, then register a shrinker.
      while (mmu.memInfo().memFree > mmu.memInfo().lowWatermark + 2 * c.entry) {
        const p = mmu.malloc(c.entry);
        if (p === 0) break;
        cache.push(p);
      }
      cacheShrinker = mmu.registerShrinker('test-cache', (target) => {
        let freed = 0;
        while (freed < target && cache.length > 0) {
          mmu.free(cache.pop()!);
          freed += c.entry;
        }
        return freed;
      });
      return { entries: cache.length };
    }
    case 'uncache':
      cacheShrinker?.unregister();
      cacheShrinker = null;
      while (cache.length > 0) mmu.free(cache.pop()!);
      return { ok: true };
  }
}
