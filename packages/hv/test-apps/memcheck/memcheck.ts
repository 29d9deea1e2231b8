/**
 * The mmu inside a booted VM, as a program sees it through the kernel's
 * memory(): anonymous mappings, protection faults, malloc, and OSv's shrinker
 * scenario — a cache grows into free memory, then an allocation of 80% of RAM
 * succeeds because the cache's shrinker gives memory back (or, run with
 * --no-shrinker, fails with ENOMEM instead of crashing). Prints one JSON line.
 *
 *   /memcheck.js [--no-shrinker]
 *   /memcheck.js --soft    the reclaimer thread, not an allocation, shrinks a
 *                          cache that took free memory below 10% of RAM
 */
import { memory, scheduler } from '@osv-ts/kernel';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, MmuError, PROT_READ, PROT_WRITE, SegmentationFault } from '@osv-ts/mmu';

const MiB = 2 ** 20;
const ENTRY = 64 * 1024;

function faultOf(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof SegmentationFault) return `${e.access}@0x${e.address.toString(16)}`;
    throw e;
  }
}

/** Fills memory until less than 5% is free, then lets the reclaimer thread run. */
async function soft(): Promise<number> {
  const mmu = memory();
  const cache: number[] = [];
  const calls: boolean[] = [];
  mmu.registerShrinker('soft-cache', (target, hard) => {
    calls.push(hard);
    let freed = 0;
    while (freed < target && cache.length > 0) {
      mmu.free(cache.pop()!);
      freed += ENTRY;
    }
    return freed;
  });
  const total = mmu.memInfo().memTotal;
  while (mmu.memInfo().memFree > 0.05 * total) cache.push(mmu.malloc(ENTRY));
  const freeBefore = mmu.memInfo().memFree;
  await scheduler().sleep(400e6);
  console.log(
    JSON.stringify({ freeBeforePct: Math.round((100 * freeBefore) / total), freeAfterPct: Math.round((100 * mmu.memInfo().memFree) / total), calls: calls.length, anyHard: calls.some((h) => h) }),
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--soft')) return soft();
  const mmu = memory();
  const out: Record<string, unknown> = {};

  // Demand-zero mapping, written and read back, then unmapped: the next touch faults.
  const len = 8 * MiB;
  const a = mmu.mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  for (let off = 0; off < len; off += 4096) mmu.mem.write32(a + off, off ^ 0x5a5a);
  let ok = true;
  for (let off = 0; off < len; off += 4096) if (mmu.mem.read32(a + off) !== (off ^ 0x5a5a)) ok = false;
  out['mappedOk'] = ok;
  mmu.mprotect(a, len, PROT_READ);
  out['writeToReadOnly'] = faultOf(() => mmu.mem.write32(a + 4096, 1));
  mmu.munmap(a, len);
  out['readAfterMunmap'] = faultOf(() => mmu.mem.read32(a));

  // malloc: many small blocks, all distinct and intact.
  const ptrs: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const p = mmu.malloc(64);
    mmu.mem.write32(p, i);
    ptrs.push(p);
  }
  out['mallocOk'] = ptrs.every((p, i) => mmu.mem.read32(p) === i) && new Set(ptrs).size === ptrs.length;
  for (const p of ptrs) mmu.free(p);

  // The shrinker scenario.
  const cache: number[] = [];
  const total = mmu.memInfo().memTotal;
  for (;;) {
    const p = mmu.malloc(ENTRY);
    if (p === 0) break;
    mmu.mem.write32(p, cache.length);
    cache.push(p);
  }
  out['cacheBytes'] = cache.length * ENTRY;
  out['memTotal'] = total;
  if (!argv.includes('--no-shrinker')) {
    mmu.registerShrinker('memcheck-cache', (target) => {
      let freed = 0;
      while (freed < target && cache.length > 0) {
        mmu.free(cache.pop()!);
        freed += ENTRY;
      }
      return freed;
    });
  }
  const want = Math.floor((0.8 * total) / 4096) * 4096;
  try {
    const big = mmu.mmap(0, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
    for (let off = 0; off < want; off += 4096) mmu.mem.write32(big + off, off);
    let bigOk = true;
    for (let off = 0; off < want; off += 4096 * 7) if (mmu.mem.read32(big + off) !== off) bigOk = false;
    out['bigAllocation'] = bigOk ? 'ok' : 'corrupt';
  } catch (e) {
    out['bigAllocation'] = e instanceof MmuError ? e.code : String(e);
  }
  out['cacheIntact'] = cache.every((p, i) => mmu.mem.read32(p) === i);
  console.log(JSON.stringify(out));
  return 0;
}
