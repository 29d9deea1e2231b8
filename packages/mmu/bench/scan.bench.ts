/**
 * A scan of 1 GiB mapped with 2 MiB pages against the same scan with 4 KiB
 * pages (the baseline): one 4-byte read per 64-byte line, so translation cost
 * (TLB misses and walks) shows. A raw Int32Array scan of the same pattern is
 * printed for scale. Needs about 2.3 GiB of host memory.
 */
import { Mmu, MAP_ANONYMOUS, MAP_PRIVATE, MAP_POPULATE, PROT_READ, PROT_WRITE } from '@osv-ts/mmu';
import { medianNs, report } from './harness.js';

const GIB = 1 << 30;
const MEMORY = GIB + (64 << 20);
const STRIDE = 64;

function scanNs(huge: boolean): { ns: number; walks: number } {
  const memory = new SharedArrayBuffer(MEMORY);
  const mmu = Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: MEMORY - 0x20_0000 }], hugePages: huge });
  const a = mmu.mmap(0, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
  const mem = mmu.mem;
  const before = mmu.tlbStats().walks;
  const ns = medianNs(GIB / STRIDE, (n) => {
    let s = 0;
    for (let off = 0; off < n * STRIDE; off += STRIDE) s = (s + mem.read32(a + off)) | 0;
    return s;
  }, 5);
  const walks = Math.round((mmu.tlbStats().walks - before) / 5.1); // 5 timed scans + a 1/10 warm-up
  mmu.munmap(a, GIB);
  return { ns, walks };
}

const small = scanNs(false);
const large = scanNs(true);
const raw = new Int32Array(new SharedArrayBuffer(GIB));
const rawNs = medianNs(GIB / STRIDE, (n) => {
  let s = 0;
  for (let i = 0; i < (n * STRIDE) / 4; i += STRIDE / 4) s = (s + raw[i]!) | 0;
  return s;
}, 5);
report('scan 1 GiB, 2 MiB pages (read per 64 B)', large.ns, '4 KiB pages', small.ns);
console.log(`  page-table walks per scan: 2 MiB pages ${large.walks}, 4 KiB pages ${small.walks}; raw Int32Array scan ${rawNs.toFixed(2)} ns/read`);
