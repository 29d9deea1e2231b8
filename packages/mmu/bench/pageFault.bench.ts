/**
 * Page-fault cost: first touch of each 4 KiB page of an anonymous mapping
 * (walk, fault handler, zeroed page, page-table update) against allocating a
 * zeroed 4 KiB ArrayBuffer and writing to it — JavaScript's own fresh page.
 */
import { Mmu, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@osv-ts/mmu';
import { medianNs, report } from './harness.js';

const MEMORY = 256 << 20;
const memory = new SharedArrayBuffer(MEMORY);
const mmu = Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: MEMORY - 0x20_0000 }], hugePages: false });
const PAGES = 16384;

const fault = medianNs(PAGES, (n) => {
  const a = mmu.mmap(0, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  for (let p = 0; p < n; p++) mmu.mem.write32(a + p * 4096, p);
  mmu.munmap(a, n * 4096); // included: the pages are freed again (munmap is cheap next to n faults)
  return a;
});
const keep: ArrayBuffer[] = [];
const baseline = medianNs(PAGES, (n) => {
  keep.length = 0;
  for (let p = 0; p < n; p++) {
    const b = new ArrayBuffer(4096);
    new Int32Array(b)[0] = p;
    keep.push(b);
  }
  return keep.length;
});
report('page fault (demand-zero 4 KiB, incl. munmap)', fault, 'new ArrayBuffer(4096)', baseline);
