/**
 * 4-byte reads through the software TLB (hits: a 1 MiB mapping fits the TLB)
 * against a raw Int32Array read of the same number of words.
 */
import { Mmu, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@osv-ts/mmu';
import { medianNs, report } from './harness.js';

const BYTES = 1 << 20;
const memory = new SharedArrayBuffer(64 << 20);
const mmu = Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: (64 << 20) - 0x20_0000 }], hugePages: false });
const base = mmu.mmap(0, BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
for (let off = 0; off < BYTES; off += 4) mmu.mem.write32(base + off, off);
const raw = new Int32Array(BYTES / 4);
for (let i = 0; i < raw.length; i++) raw[i] = i * 4;
const mem = mmu.mem;

const words = BYTES / 4;
const passes = 20;
const tlb = medianNs(words * passes, (n) => {
  let sum = 0;
  for (let p = 0; p < n / words; p++) for (let off = 0; off < BYTES; off += 4) sum = (sum + mem.read32(base + off)) | 0;
  return sum;
});
const baseline = medianNs(words * passes, (n) => {
  let sum = 0;
  for (let p = 0; p < n / words; p++) for (let i = 0; i < words; i++) sum = (sum + raw[i]!) | 0;
  return sum;
});
report('read32 through the TLB (hits)', tlb, 'Int32Array[i]', baseline);
