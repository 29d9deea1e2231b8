/**
 * The boot-parameters page (hv abi.ts BOOT_PARAMS_LAYOUT), read once by each
 * vCPU at boot. Everything is validated: the page is the hv's, but a bad one
 * must stop the boot with a message rather than send the kernel off the end of
 * memory.
 */
import {
  BOOT_MAGIC,
  BOOT_PARAMS_ADDR,
  BOOT_PARAMS_LAYOUT as B,
  BOOT_VERSION,
  CMDLINE_ADDR,
  CMDLINE_MAX,
  DEVICE_ENTRY_LAYOUT as D,
  MAX_DEVICES,
  MAX_MEMMAP,
  MEMMAP_ENTRY_LAYOUT as M,
} from '@osv-ts/hv/abi';
import { KernelError } from '../errors.js';

/** A device from the boot page's table. */
export interface BootDeviceInfo {
  /** Physical address of its MMIO window. */
  readonly mmioBase: number;
  /** Interrupt line (bit of IRQ_PENDING on vCPU 0). */
  readonly irq: number;
  /** Virtio device ID. */
  readonly deviceId: number;
}

/** A range of free RAM, bytes. */
export interface MemoryRange {
  readonly base: number;
  readonly length: number;
}

/** What the hv told the kernel at power-on. */
export interface BootInfo {
  readonly memoryBytes: number;
  readonly cpuCount: number;
  /** The command line's UTF-8 bytes (a view into guest memory). */
  readonly cmdline: Uint8Array;
  /** The root filesystem image (a view into guest memory). */
  readonly rootfs: Uint8Array;
  readonly devices: readonly BootDeviceInfo[];
  readonly freeMemory: readonly MemoryRange[];
  /** Wall clock at power-on, ns since the Unix epoch. */
  readonly bootTimeNs: bigint;
}

function get64(dv: DataView, at: number): number {
  return dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 4294967296;
}

/** Reads and checks the boot page. Throws KernelError EINVAL naming the bad field. */
export function readBootInfo(memory: SharedArrayBuffer): BootInfo {
  const dv = new DataView(memory, BOOT_PARAMS_ADDR, B.SIZE);
  const bad = (what: string): never => {
    throw new KernelError('EINVAL', `boot parameters: ${what}`);
  };
  if (dv.getUint32(B.magic.offset, true) !== BOOT_MAGIC) bad('no boot magic at 0x1000 — not started by an osv-ts hv');
  if (dv.getUint32(B.version.offset, true) !== BOOT_VERSION) bad(`version ${dv.getUint32(B.version.offset, true)}, expected ${BOOT_VERSION}`);
  const memoryBytes = get64(dv, B.memoryLo.offset);
  if (memoryBytes !== memory.byteLength) bad(`memory size ${memoryBytes} differs from the ${memory.byteLength}-byte RAM`);
  const cmdlineLength = dv.getUint32(B.cmdlineLength.offset, true);
  if (cmdlineLength > CMDLINE_MAX) bad(`command line length ${cmdlineLength} > ${CMDLINE_MAX}`);
  const rootfsAddr = dv.getUint32(B.rootfsAddr.offset, true);
  const rootfsLength = dv.getUint32(B.rootfsLength.offset, true);
  if (rootfsAddr + rootfsLength > memoryBytes) bad('root filesystem lies outside memory');
  const deviceCount = dv.getUint32(B.deviceCount.offset, true);
  if (deviceCount > MAX_DEVICES) bad(`${deviceCount} devices > ${MAX_DEVICES}`);
  const devices: BootDeviceInfo[] = [];
  for (let i = 0; i < deviceCount; i++) {
    const at = B.devices.offset + i * D.SIZE;
    devices.push({
      mmioBase: get64(dv, at + D.mmioLo.offset),
      irq: dv.getUint32(at + D.irq.offset, true),
      deviceId: dv.getUint32(at + D.deviceId.offset, true),
    });
  }
  const memmapCount = dv.getUint32(B.memmapCount.offset, true);
  if (memmapCount > MAX_MEMMAP) bad(`${memmapCount} memory ranges > ${MAX_MEMMAP}`);
  const freeMemory: MemoryRange[] = [];
  for (let i = 0; i < memmapCount; i++) {
    const at = B.memmap.offset + i * M.SIZE;
    const base = get64(dv, at + M.baseLo.offset);
    const length = get64(dv, at + M.lengthLo.offset);
    if (base + length > memoryBytes) bad(`memory range ${i} lies outside memory`);
    freeMemory.push({ base, length });
  }
  const bootTimeNs =
    BigInt(dv.getUint32(B.bootTimeLo.offset, true)) | (BigInt(dv.getUint32(B.bootTimeHi.offset, true)) << 32n);
  return {
    memoryBytes,
    cpuCount: dv.getUint32(B.cpuCount.offset, true),
    cmdline: new Uint8Array(memory, CMDLINE_ADDR, cmdlineLength),
    rootfs: new Uint8Array(memory, rootfsAddr, rootfsLength),
    devices,
    freeMemory,
    bootTimeNs,
  };
}
