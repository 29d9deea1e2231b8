/**
 * Test support for the virtio-net driver's tests: a device model behind the
 * virtio package's real MMIO transport, wired to the driver the way the hv
 * wires it (a bus that forwards register accesses, a bump DMA allocator in
 * one SharedArrayBuffer, a vCPU whose clock moves only while it idles), and
 * the stream helpers the TCP-over-driver tests share.
 */
import { createHash } from 'node:crypto';
import type { TcpSocket } from '@osv-ts/netchannel';
import { MmioTransportDevice, type VirtioDeviceModel } from '@osv-ts/virtio/device';
import { VirtioMmioDriver, type DmaAllocator } from '@osv-ts/virtio/driver';
import { IoWait, type IoWaitCpu } from '../drivers/ioWait.js';
import { VirtioNet, type VirtioNetOptions } from '../drivers/virtioNet.js';

/** Where the harness maps the device's register window. */
export const HARNESS_MMIO_BASE = 0x1_0000_0000;
/** The interrupt line the harness wires the device to. */
export const HARNESS_IRQ = 10;

/** A VirtioNet driver over `model` in 16 MiB of guest memory. */
export function virtioNetOverModel(model: VirtioDeviceModel, options: VirtioNetOptions = {}): { net: VirtioNet; memory: SharedArrayBuffer; dmaEnd: () => number } {
  const memory = new SharedArrayBuffer(16 << 20);
  let pending = 0;
  let now = 0;
  const transport = new MmioTransportDevice(memory, model, { raiseInterrupt: () => void (pending |= 1 << HARNESS_IRQ), log: () => {} });
  const base = HARNESS_MMIO_BASE;
  const bus = {
    read32: (a: number) => transport.read(a - base, 4),
    write32: (a: number, v: number) => transport.write(a - base, 4, v),
    read16: (a: number) => transport.read(a - base, 2),
    read8: (a: number) => transport.read(a - base, 1),
  };
  let next = 0x10000;
  const dma: DmaAllocator = {
    alloc(bytes, align) {
      const at = Math.ceil(next / align) * align;
      next = at + bytes;
      return at;
    },
  };
  const cpu: IoWaitCpu = {
    hw: { monotonicNs: () => now },
    takeInterrupts: () => {
      const p = pending;
      pending = 0;
      return p;
    },
    idle: (ms) => {
      now += ms * 1e6; // time passes only while the vCPU sleeps
      return pending;
    },
  };
  const net = new VirtioNet(new VirtioMmioDriver(bus, base), memory, dma, new IoWait(cpu), HARNESS_IRQ, 'eth0', options);
  return { net, memory, dmaEnd: () => next };
}

/** Writes `bytes` of a counter pattern in `chunkBytes` writes and shuts down; resolves with their SHA-256. */
export async function writePattern(s: TcpSocket, bytes: number, chunkBytes: number): Promise<string> {
  const h = createHash('sha256');
  const chunk = new Uint8Array(chunkBytes);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    for (let i = 0; i < chunk.length; i++) chunk[i] = (sent + i) * 7;
    h.update(chunk);
    await s.write(chunk);
  }
  s.shutdown(1);
  return h.digest('hex');
}

/** Reads to end of stream; resolves with the byte count and SHA-256. */
export async function readToEnd(s: TcpSocket): Promise<{ bytes: number; sha: string }> {
  const h = createHash('sha256');
  const buf = new Uint8Array(65536);
  let bytes = 0;
  for (;;) {
    const n = await s.read(buf);
    if (n === 0) return { bytes, sha: h.digest('hex') };
    h.update(buf.subarray(0, n));
    bytes += n;
  }
}
