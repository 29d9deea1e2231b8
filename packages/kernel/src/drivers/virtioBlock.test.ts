/**
 * The virtio-blk driver against a small in-memory device model on the
 * virtio package's real device-side transport, in one process: data round
 * trips through the bounce slots (requests larger than a slot, more
 * requests than slots), the BlockDevice errors, and recovery when the device
 * asks for a reset. The hv's own device is tested against the driver in a
 * booted VM (packages/hv, blockDisk.e2e.test.ts).
 */
import {
  VIRTIO_BLK_CONFIG_LAYOUT,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_ID_BLOCK,
  featureBit,
} from '@osv-ts/virtio';
import { ConfigSpace, MmioTransportDevice, type DescriptorChain, type VirtioDeviceModel, type VirtioTransport, type VirtqueueDevice } from '@osv-ts/virtio/device';
import { VirtioMmioDriver, type DmaAllocator, type MmioBus } from '@osv-ts/virtio/driver';
import { describe, expect, it } from 'vitest';
import { KernelError } from '../errors.js';
import { IoWait, type IoWaitCpu } from './ioWait.js';
import { BLOCK_CHUNK, BLOCK_SLOTS, VirtioBlock } from './virtioBlock.js';

const BASE = 0x1_0000_0000;
const IRQ = 9;

/** A block device model over a byte array; with `defer`, popped requests wait for complete(). */
class MiniBlock implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly features: bigint;
  readonly queueCount = 1;
  readonly configSize = VIRTIO_BLK_CONFIG_LAYOUT.SIZE;
  readonly disk: Uint8Array;
  readonly config = new ConfigSpace(VIRTIO_BLK_CONFIG_LAYOUT);
  transport!: VirtioTransport;
  status = VIRTIO_BLK_S_OK;
  defer = false;
  maxInFlight = 0;
  private held: { q: VirtqueueDevice; c: DescriptorChain }[] = [];
  private readonly hdr = new Uint8Array(16);

  constructor(size: number, readOnly = false) {
    this.disk = new Uint8Array(size);
    this.features = featureBit(VIRTIO_BLK_F_FLUSH) | featureBit(VIRTIO_BLK_F_BLK_SIZE) | (readOnly ? featureBit(VIRTIO_BLK_F_RO) : 0n);
    this.config.set('capacity', size / 512);
    this.config.set('blk_size', 512);
  }
  attach(t: VirtioTransport): void {
    this.transport = t;
  }
  queueMaxSize(): number {
    return 256;
  }
  configRead(offset: number, size: 1 | 2 | 4): number {
    return this.config.read(offset, size);
  }
  queueNotify(_i: number, q: VirtqueueDevice): void {
    for (;;) {
      const c = q.createChain();
      if (q.pop(c) < 0) break;
      if (this.defer) this.held.push({ q, c });
      else this.serve(q, c);
      this.maxInFlight = Math.max(this.maxInFlight, this.held.length);
    }
    this.transport.flush(0);
  }
  complete(): void {
    for (const { q, c } of this.held.splice(0)) this.serve(q, c);
    this.transport.flush(0);
  }
  reset(): void {
    this.held = [];
  }
  private serve(q: VirtqueueDevice, c: DescriptorChain): void {
    c.read(this.hdr);
    const v = new DataView(this.hdr.buffer);
    const type = v.getUint32(0, true);
    const pos = Number(v.getBigUint64(8, true)) * 512;
    let status = this.status;
    if (status === VIRTIO_BLK_S_OK) {
      if (type === VIRTIO_BLK_T_IN) c.write(this.disk.subarray(pos, pos + c.writableBytes - 1));
      else if (type === VIRTIO_BLK_T_OUT) c.read(this.disk.subarray(pos, pos + c.readableBytes - 16), 16);
      else if (type === VIRTIO_BLK_T_GET_ID) c.write(new TextEncoder().encode('mini'));
      else if (type !== VIRTIO_BLK_T_FLUSH) status = VIRTIO_BLK_S_UNSUPP;
    }
    c.write(Uint8Array.of(status), c.writableBytes - 1);
    q.pushUsed(c.head, c.writableBytes);
  }
}

function machine(size = 4 << 20, readOnly = false) {
  const memory = new SharedArrayBuffer(16 << 20);
  const model = new MiniBlock(size, readOnly);
  let pending = 0;
  const transport = new MmioTransportDevice(memory, model, { raiseInterrupt: () => void (pending |= 1 << IRQ), log: () => {} });
  const bus: MmioBus = { read32: (a) => transport.read(a - BASE, 4), write32: (a, v) => transport.write(a - BASE, 4, v) };
  let next = 0x10000;
  const dma: DmaAllocator = {
    alloc(bytes, align) {
      const at = Math.ceil(next / align) * align;
      next = at + bytes;
      return at;
    },
  };
  const cpu: IoWaitCpu = {
    hw: { monotonicNs: () => performance.now() * 1e6 },
    takeInterrupts: () => {
      const p = pending;
      pending = 0;
      return p;
    },
    idle: () => {
      model.complete(); // the device finishes what it holds while the vCPU sleeps
      return pending;
    },
  };
  const io = new IoWait(cpu);
  const blk = new VirtioBlock(new VirtioMmioDriver(bus, BASE), memory, dma, io, IRQ, 'vda');
  return { blk, model, transport };
}

const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed + (i >> 9)) & 0xff);

describe('VirtioBlock driver', () => {
  it('reports the geometry the device gives', () => {
    const { blk } = machine(3 << 20, true);
    expect(blk.size).toBe(3 << 20);
    expect(blk.blockSize).toBe(512);
    expect(blk.readOnly).toBe(true);
    expect(blk.maxInFlight).toBe(BLOCK_SLOTS);
  });

  it('writes and reads back requests larger than a slot, and more requests than slots', async () => {
    const { blk, model } = machine();
    const big = pattern(3 * BLOCK_CHUNK + 4096, 1);
    await blk.write(8192, big);
    expect(Buffer.from(model.disk.subarray(8192, 8192 + big.length)).equals(Buffer.from(big))).toBe(true);
    const back = new Uint8Array(big.length);
    await blk.read(8192, back);
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
    model.defer = true;
    const reads = Array.from({ length: 100 }, (_, i) => {
      const b = new Uint8Array(4096);
      return blk.read(i * 4096, b).then(() => b);
    });
    const got = await Promise.all(reads);
    expect(model.maxInFlight).toBe(BLOCK_SLOTS);
    expect(Buffer.from(got[2]!).equals(Buffer.from(model.disk.subarray(8192, 12288)))).toBe(true);
    await blk.flush();
    expect(await blk.id()).toBe('mini');
  });

  it('rejects bad requests with KernelError: EINVAL, EROFS', async () => {
    const { blk } = machine();
    await expect(blk.read(100, new Uint8Array(512))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(blk.read(0, new Uint8Array(100))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(blk.read(blk.size, new Uint8Array(512))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(blk.read(blk.size - 512, new Uint8Array(512))).resolves.toBeUndefined();
    const ro = machine(1 << 20, true).blk;
    await expect(ro.write(0, new Uint8Array(512))).rejects.toMatchObject({ code: 'EROFS' });
    await expect(blk.read(0, new Uint8Array(0))).resolves.toBeUndefined();
  });

  it('turns the device status into EIO and ENOTSUP', async () => {
    const { blk, model } = machine();
    model.status = VIRTIO_BLK_S_IOERR;
    const e = await blk.read(0, new Uint8Array(512)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KernelError);
    expect(e).toMatchObject({ code: 'EIO', errno: 5 });
    model.status = VIRTIO_BLK_S_UNSUPP;
    await expect(blk.flush()).rejects.toMatchObject({ code: 'ENOTSUP' });
    model.status = VIRTIO_BLK_S_OK;
    await expect(blk.flush()).resolves.toBeUndefined();
  });

  it('fails requests in flight with DEVICE_ERROR when the device needs a reset, then works again', async () => {
    const { blk, model, transport } = machine();
    model.defer = true;
    const lost = blk.read(0, new Uint8Array(4096));
    await null;
    await null;
    transport.needsReset('test: the device broke');
    await expect(lost).rejects.toMatchObject({ code: 'DEVICE_ERROR' });
    model.defer = false;
    model.disk.set(pattern(512, 7), 0);
    const b = new Uint8Array(512);
    await blk.read(0, b);
    expect(Buffer.from(b).equals(Buffer.from(pattern(512, 7)))).toBe(true);
  });
});
