/**
 * malloc/free of 64 bytes and of 4 KiB against allocating a JavaScript
 * ArrayBuffer of the same size (and letting the GC have it).
 */
import { Mmu } from '@osv-ts/mmu';
import { medianNs, report } from './harness.js';

const MEMORY = 64 << 20;
const memory = new SharedArrayBuffer(MEMORY);
const mmu = Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: MEMORY - 0x20_0000 }] });

for (const size of [64, 4096]) {
  const live = new Float64Array(64);
  const m = medianNs(200000, (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const k = i & 63;
      if (live[k] !== 0) mmu.free(live[k]!);
      const p = mmu.malloc(size);
      live[k] = p;
      s += p;
    }
    for (let k = 0; k < 64; k++) if (live[k] !== 0) (mmu.free(live[k]!), (live[k] = 0));
    return s;
  });
  const keep: (ArrayBuffer | null)[] = new Array(64).fill(null);
  const b = medianNs(200000, (n) => {
    for (let i = 0; i < n; i++) keep[i & 63] = new ArrayBuffer(size);
    return keep.length;
  });
  report(`malloc+free ${size} B (64 live)`, m, `new ArrayBuffer(${size})`, b);
}
