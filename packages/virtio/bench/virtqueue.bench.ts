/**
 * Virtqueue round trips per second in one process: the driver adds a chain
 * (16 bytes device-readable + 16 bytes device-writable) and kicks, the device
 * pops it, copies the 16 bytes back, pushes it used and flushes, the driver
 * collects it. Batches of 1 and 32 chains, with and without EVENT_IDX.
 *
 * Baseline, measured in the same run: the same tokens and 16-byte copies
 * moved through two plain JS arrays (push/shift) standing in for the rings.
 * Printed: medians over RUNS runs, and the ratio virtqueue / baseline.
 */
import { performance } from 'node:perf_hooks';
import { VirtqueueDevice } from '../src/device.js';
import { VirtqueueDriver } from '../src/driver.js';
import { BumpAllocator } from '../src/internal/testing/bumpAllocator.js';

const RUNS = 7;
const OPS = 32 * 12_500; // a multiple of every batch size
const QUEUE_SIZE = 256;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Returns round trips per second for `ops` chains (a multiple of `batch`) moved in batches of `batch`. */
function virtqueue(eventIdx: boolean, batch: number, ops: number): number {
  const mem = new SharedArrayBuffer(1 << 20);
  const dma = new BumpAllocator(mem.byteLength);
  const drv = new VirtqueueDriver(mem, dma, { size: QUEUE_SIZE, eventIdx });
  const dev = new VirtqueueDevice(mem, { size: QUEUE_SIZE, descAddr: drv.descAddr, driverAddr: drv.driverAddr, deviceAddr: drv.deviceAddr, eventIdx, indirect: false });
  const out = dma.alloc(16 * batch, 16);
  const inb = dma.alloc(16 * batch, 16);
  const scratch = new Uint8Array(16);
  let notifies = 0;
  let interrupts = 0;
  let check = 0;
  const t0 = performance.now();
  for (let done = 0; done < ops; done += batch) {
    for (let i = 0; i < batch; i++) {
      drv.begin();
      drv.push(out + 16 * i, 16, false);
      drv.push(inb + 16 * i, 16, true);
      drv.commit(done + i);
    }
    if (drv.kick()) notifies++;
    for (let h; (h = dev.pop()) >= 0; ) {
      dev.chain.read(scratch);
      dev.pushUsed(h, dev.chain.write(scratch));
    }
    if (dev.flush()) interrupts++;
    for (let t; (t = drv.getUsed()) >= 0; ) check += t;
  }
  const secs = (performance.now() - t0) / 1000;
  if (check !== (ops * (ops - 1)) / 2) throw new Error('lost a token');
  if (notifies === 0 || interrupts === 0) throw new Error('no notification or interrupt was ever requested');
  return ops / secs;
}

/** The same traffic through JS arrays: tokens in, 16-byte copy, tokens out. */
function baseline(batch: number, ops: number): number {
  const avail: number[] = [];
  const used: number[] = [];
  const src = new Uint8Array(16 * batch);
  const dst = new Uint8Array(16 * batch);
  const scratch = new Uint8Array(16);
  let check = 0;
  const t0 = performance.now();
  for (let done = 0; done < ops; done += batch) {
    for (let i = 0; i < batch; i++) avail.push(done + i);
    while (avail.length > 0) {
      const t = avail.shift()!;
      const k = (t % batch) * 16;
      for (let j = 0; j < 16; j++) scratch[j] = src[k + j]!;
      for (let j = 0; j < 16; j++) dst[k + j] = scratch[j]!;
      used.push(t);
    }
    while (used.length > 0) check += used.shift()!;
  }
  const secs = (performance.now() - t0) / 1000;
  if (check !== (ops * (ops - 1)) / 2) throw new Error('lost a token');
  return ops / secs;
}

// Warm both paths up before measuring.
virtqueue(false, 32, 32 * 2000);
virtqueue(true, 32, 32 * 2000);
baseline(32, 32 * 2000);

for (const batch of [1, 32]) {
  const base: number[] = [];
  const plain: number[] = [];
  const evidx: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    base.push(baseline(batch, OPS));
    plain.push(virtqueue(false, batch, OPS));
    evidx.push(virtqueue(true, batch, OPS));
  }
  const b = median(base);
  const fmt = (x: number) => `${(x / 1e6).toFixed(2)} M round trips/s`;
  console.log(`batch ${batch}: baseline (JS arrays)  ${fmt(b)}`);
  console.log(`batch ${batch}: virtqueue             ${fmt(median(plain))}  ratio ${(median(plain) / b).toFixed(2)}`);
  console.log(`batch ${batch}: virtqueue EVENT_IDX   ${fmt(median(evidx))}  ratio ${(median(evidx) / b).toFixed(2)}`);
}
