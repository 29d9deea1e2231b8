/**
 * mmap+munmap pairs (64 KiB anonymous, one page touched) per second against
 * creating, touching and dropping a 64 KiB ArrayBuffer.
 */
import { Mmu, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@osv-ts/mmu';
import { medianNs, report } from './harness.js';

const MEMORY = 64 << 20;
const memory = new SharedArrayBuffer(MEMORY);
const mmu = Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: MEMORY - 0x20_0000 }] });
const LEN = 64 * 1024;

const pair = medianNs(20000, (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = mmu.mmap(0, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    mmu.mem.write32(a, i);
    s += a;
    mmu.munmap(a, LEN);
  }
  return s;
});
let keep: ArrayBuffer | null = null;
const baseline = medianNs(20000, (n) => {
  for (let i = 0; i < n; i++) {
    keep = new ArrayBuffer(LEN);
    new Int32Array(keep)[0] = i;
  }
  return keep === null ? 0 : 1;
});
report('mmap+munmap 64 KiB (one page touched)', pair, 'new ArrayBuffer(65536)', baseline);
console.log(`  = ${(1e9 / pair).toFixed(0)} pairs/s`);
