/**
 * Device probing: walks the boot page's device table (the hv lists each
 * virtio-mmio window with its device ID, so probing needs no exit per empty
 * slot) and starts a driver for each device type the kernel knows.
 */
import { VIRTIO_ID_CONSOLE } from '@osv-ts/virtio';
import { VirtioMmioDriver, type MmioBus } from '@osv-ts/virtio/driver';
import type { BootInfo } from '../arch/bootInfo.js';
import type { Cpu } from '../arch/cpu.js';
import type { BootAllocator } from '../mm/bootAllocator.js';
import { VirtioConsole } from './virtioConsole.js';

/** The drivers probing started. */
export interface Devices {
  readonly console?: VirtioConsole;
}

/** MMIO through this vCPU's VM exits. */
export function cpuMmioBus(cpu: Cpu): MmioBus {
  return {
    read32: (addr) => cpu.mmioRead32(addr),
    write32: (addr, value) => cpu.mmioWrite32(addr, value),
  };
}

/** Starts drivers for the devices in the boot table; `say` reports each (verbose boot). */
export function probeDevices(cpu: Cpu, info: BootInfo, dma: BootAllocator, say: (text: string) => void): Devices {
  const bus = cpuMmioBus(cpu);
  let console: VirtioConsole | undefined;
  for (const d of info.devices) {
    const dev = new VirtioMmioDriver(bus, d.mmioBase);
    if (d.deviceId === VIRTIO_ID_CONSOLE && !console) {
      console = new VirtioConsole(dev, cpu.hw.memory, dma);
      say(`virtio-console at 0x${d.mmioBase.toString(16)}, irq ${d.irq}`);
    } else {
      say(`no driver for virtio device ${d.deviceId} at 0x${d.mmioBase.toString(16)}`);
    }
  }
  return console ? { console } : {};
}
