/**
 * The virtio-net driver against a small device model on the virtio
 * package's real device-side transport: configuration (MAC, MTU, link),
 * transmit and its errors, both ways of receiving (a receiver in the
 * receive path, receive() with and without a timeout), link changes.
 */
import {
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_LAYOUT,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR_LAYOUT,
  VIRTIO_NET_RECEIVEQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TRANSMITQ,
  featureBit,
} from '@osv-ts/virtio';
import { ConfigSpace, MmioTransportDevice, type VirtioDeviceModel, type VirtioTransport, type VirtqueueDevice } from '@osv-ts/virtio/device';
import { VirtioMmioDriver, type DmaAllocator, type MmioBus } from '@osv-ts/virtio/driver';
import { describe, expect, it } from 'vitest';
import { IoWait, type IoWaitCpu } from './ioWait.js';
import { NET_ERRNO } from './netDevice.js';
import { VirtioNet } from './virtioNet.js';

const BASE = 0x1_0000_0000;
const IRQ = 10;
const HDR = VIRTIO_NET_HDR_LAYOUT.SIZE;

class MiniNet implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_NET;
  readonly features = featureBit(VIRTIO_NET_F_MAC) | featureBit(VIRTIO_NET_F_STATUS) | featureBit(VIRTIO_NET_F_MTU);
  readonly queueCount = 2;
  readonly configSize = VIRTIO_NET_CONFIG_LAYOUT.SIZE;
  readonly config = new ConfigSpace(VIRTIO_NET_CONFIG_LAYOUT);
  readonly sent: Uint8Array[] = [];
  transport!: VirtioTransport;
  constructor() {
    this.config.setBytes('mac', Uint8Array.of(2, 0, 0, 0, 0, 7));
    this.config.set('mtu', 1500);
    this.config.set('status', VIRTIO_NET_S_LINK_UP);
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
  queueNotify(i: number, q: VirtqueueDevice): void {
    if (i !== VIRTIO_NET_TRANSMITQ) return;
    for (let h = q.pop(); h >= 0; h = q.pop()) {
      const f = new Uint8Array(q.chain.readableBytes - HDR);
      q.chain.read(f, HDR);
      this.sent.push(f);
      q.pushUsed(h, 0);
    }
    this.transport.flush(VIRTIO_NET_TRANSMITQ);
  }
  /** The peer sends a frame; false when the guest has no receive buffer. */
  inject(frame: Uint8Array): boolean {
    const q = this.transport.queue(VIRTIO_NET_RECEIVEQ);
    const h = q ? q.pop() : -1;
    if (!q || h < 0) return false;
    const hdr = new Uint8Array(HDR);
    hdr[VIRTIO_NET_HDR_LAYOUT.num_buffers.offset] = 1;
    q.chain.write(hdr);
    q.chain.write(frame, HDR);
    q.pushUsed(h, HDR + frame.length);
    this.transport.flush(VIRTIO_NET_RECEIVEQ);
    return true;
  }
  setLink(up: boolean): void {
    this.config.set('status', up ? VIRTIO_NET_S_LINK_UP : 0);
    this.transport.configChanged();
  }
  reset(): void {}
}

function machine() {
  const memory = new SharedArrayBuffer(16 << 20);
  const model = new MiniNet();
  let pending = 0;
  let now = 0;
  const transport = new MmioTransportDevice(memory, model, { raiseInterrupt: () => void (pending |= 1 << IRQ), log: () => {} });
  const bus: MmioBus = {
    read32: (a) => transport.read(a - BASE, 4),
    write32: (a, v) => transport.write(a - BASE, 4, v),
    read16: (a) => transport.read(a - BASE, 2),
    read8: (a) => transport.read(a - BASE, 1),
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
  const io = new IoWait(cpu);
  const net = new VirtioNet(new VirtioMmioDriver(bus, BASE), memory, dma, io, IRQ, 'eth0');
  return { net, model };
}

const frame = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

describe('VirtioNet driver', () => {
  it('reads MAC, MTU and link status from the configuration space', () => {
    const { net } = machine();
    expect(Array.from(net.mac)).toEqual([2, 0, 0, 0, 0, 7]);
    expect(net.mtu).toBe(1500);
    expect(net.linkUp).toBe(true);
    expect(net.name).toBe('eth0');
  });

  it('transmits frames, and refuses what it cannot send with a negative errno', () => {
    const { net, model } = machine();
    expect(net.transmit(frame(60, 1))).toBe(0);
    expect(net.transmit(frame(100, 2), 10, 60)).toBe(0);
    expect(model.sent).toEqual([frame(60, 1), frame(60, 2)]);
    expect(net.transmit(frame(13, 0))).toBe(-NET_ERRNO.EMSGSIZE);
    expect(net.transmit(frame(1519, 0))).toBe(-NET_ERRNO.EMSGSIZE);
    expect(net.transmit(frame(60, 0), 10, 60)).toBe(-NET_ERRNO.EINVAL);
    for (let i = 0; i < 500; i++) expect(net.transmit(frame(60, i & 0xff))).toBe(0); // buffers are reclaimed
  });

  it('receive() returns a queued frame, waits for the next one, or times out with null', async () => {
    const { net, model } = machine();
    expect(model.inject(frame(60, 3))).toBe(true);
    expect(await net.receive()).toEqual(frame(60, 3));
    const later = net.receive(1000);
    await null;
    model.inject(frame(70, 4));
    expect(await later).toEqual(frame(70, 4));
    expect(await net.receive(5)).toBeNull();
    expect(await net.receive(0)).toBeNull();
  });

  it('hands frames to a receiver in place, keeps its receive buffers posted, and stops when removed', async () => {
    const { net, model } = machine();
    const got: number[] = [];
    net.setReceiver({ receiveFrame: (f, off, len) => void got.push(len, f[off]!) });
    for (let i = 0; i < 300; i++) {
      expect(model.inject(frame(60 + (i % 5), i & 0xff))).toBe(true); // 300 > the 128 posted buffers: they come back
      for (let k = 0; k < 3; k++) await null;
    }
    expect(got.length).toBe(600);
    expect(got.slice(0, 4)).toEqual([60, 0, 61, 1]);
    net.setReceiver(null);
  });

  it('follows link changes and reports ENETDOWN while the link is down', async () => {
    const { net, model } = machine();
    const pending = net.receive(50);
    model.setLink(false);
    await pending;
    expect(net.linkUp).toBe(false);
    expect(net.transmit(frame(60, 1))).toBe(-NET_ERRNO.ENETDOWN);
  });
});
