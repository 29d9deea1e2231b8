/**
 * Device probing: walks the boot page's device table (the hv lists each
 * virtio-mmio window with its device ID and interrupt line, so probing needs
 * no exit per empty slot) and starts a driver for each device type the
 * kernel knows: console, entropy, block (vda, vdb, ...), net (eth0, ...).
 * The random generator is seeded before probing returns, from the entropy
 * device when there is one. A driver that fails to start is reported, not
 * fatal: the machine boots without that device.
 */
import { irqStatusWord } from '@osv-ts/hv/abi';
import { VIRTIO_ID_BLOCK, VIRTIO_ID_CONSOLE, VIRTIO_ID_ENTROPY, VIRTIO_ID_NET } from '@osv-ts/virtio';
import { VirtioMmioDriver, type MmioBus } from '@osv-ts/virtio/driver';
import type { BootDeviceInfo, BootInfo } from '../arch/bootInfo.js';
import type { Cpu } from '../arch/cpu.js';
import type { BootAllocator } from '../mm/bootAllocator.js';
import { setDeviceRegistry } from './deviceRegistry.js';
import { IoWait } from './ioWait.js';
import { RandomGenerator } from './randomGenerator.js';
import { VirtioBlock } from './virtioBlock.js';
import { VirtioConsole } from './virtioConsole.js';
import { VirtioNet, type VirtioNetOptions } from './virtioNet.js';
import { VirtioRng } from './virtioRng.js';

/** The drivers probing started. */
export interface Devices {
  readonly console?: VirtioConsole;
  readonly blocks: readonly VirtioBlock[];
  readonly nets: readonly VirtioNet[];
  readonly random: RandomGenerator;
  /** One line per driver that failed to start (boot prints them). */
  readonly problems: readonly string[];
}

/** MMIO through this vCPU's VM exits. */
export function cpuMmioBus(cpu: Cpu): MmioBus {
  return {
    read32: (addr) => cpu.mmioRead32(addr),
    write32: (addr, value) => cpu.mmioWrite32(addr, value),
  };
}

interface Found {
  console?: VirtioConsole;
  rng?: VirtioRng;
  readonly blocks: VirtioBlock[];
  readonly nets: VirtioNet[];
}

/**
 * Starts drivers for the devices in the boot table, seeds the random
 * generator and installs the device registry; `say` reports each device
 * (verbose boot). `net` configures every virtio-net driver (the command
 * line's --net-rx-buffer).
 */
export function probeDevices(cpu: Cpu, info: BootInfo, dma: BootAllocator, say: (text: string) => void, net: VirtioNetOptions = {}): Devices {
  const bus = cpuMmioBus(cpu);
  const io = new IoWait(cpu);
  const random = new RandomGenerator();
  const found: Found = { blocks: [], nets: [] };
  const problems: string[] = [];
  for (const d of info.devices) {
    const where = `at 0x${d.mmioBase.toString(16)}, irq ${d.irq}`;
    try {
      const drv = new VirtioMmioDriver(bus, d.mmioBase);
      // The hv keeps each line's InterruptStatus in its IRQ_STATUS word: taking an interrupt costs no exit.
      if (d.irq >= 0 && d.irq < 32) drv.useInterruptStatusWord(cpu.ctl, irqStatusWord(d.irq));
      const text = startDriver(drv, d, cpu, dma, io, random, found, net);
      say(`${text} ${where}`);
    } catch (e) {
      problems.push(`virtio device ${d.deviceId} ${where}: the driver failed to start (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  seedRandom(cpu, random, found.rng, problems);
  say(`random generator seeded from ${random.source}`);
  setDeviceRegistry({ blocks: found.blocks, nets: found.nets, random, rng: found.rng ?? null, io });
  return { ...(found.console ? { console: found.console } : {}), blocks: found.blocks, nets: found.nets, random, problems };
}

/** Starts the driver for one device; returns what to say about it. */
function startDriver(dev: VirtioMmioDriver, d: BootDeviceInfo, cpu: Cpu, dma: BootAllocator, io: IoWait, random: RandomGenerator, found: Found, net: VirtioNetOptions): string {
  const memory = cpu.hw.memory;
  switch (d.deviceId) {
    case VIRTIO_ID_CONSOLE:
      if (found.console) return 'second virtio-console ignored';
      found.console = new VirtioConsole(dev, memory, dma);
      return 'virtio-console';
    case VIRTIO_ID_ENTROPY:
      if (found.rng) return 'second virtio-rng ignored';
      found.rng = new VirtioRng(dev, memory, dma, io, d.irq, random);
      return 'virtio-rng';
    case VIRTIO_ID_BLOCK: {
      const b = new VirtioBlock(dev, memory, dma, io, d.irq, `vd${String.fromCharCode(0x61 + found.blocks.length)}`);
      found.blocks.push(b);
      return `virtio-blk ${b.name}: ${b.size} bytes, ${b.blockSize}-byte blocks${b.readOnly ? ', read-only' : ''}`;
    }
    case VIRTIO_ID_NET: {
      const n = new VirtioNet(dev, memory, dma, io, d.irq, `eth${found.nets.length}`, net);
      found.nets.push(n);
      const mac = Array.from(n.mac, (x) => x.toString(16).padStart(2, '0')).join(':');
      return `virtio-net ${n.name}: ${mac}, mtu ${n.mtu}, link ${n.linkUp ? 'up' : 'down'}${n.rxMergeable ? ', mergeable receive buffers' : ''}`;
    }
    default:
      return `no driver for virtio device ${d.deviceId}`;
  }
}

/**
 * Seeds the generator from the entropy device; without one (or if it stays
 * silent) from clock jitter, which is better than nothing but not secret.
 */
function seedRandom(cpu: Cpu, random: RandomGenerator, rng: VirtioRng | undefined, problems: string[]): void {
  if (rng) {
    if (rng.seed()) return;
    problems.push('virtio-rng did not answer; the random generator is seeded from clock jitter only');
  }
  const jitter = new Uint8Array(64);
  const hw = cpu.hw;
  for (let i = 0; i < jitter.length; i++) {
    let t = hw.monotonicNs();
    for (let spin = 0; spin < 64; spin++) t = (t * 31 + hw.monotonicNs()) % 4294967296;
    jitter[i] = (t ^ (t >>> 8) ^ (t >>> 16) ^ (hw.wallClockNs() % 256)) & 0xff;
  }
  random.reseed(jitter, 'timer-jitter');
}
