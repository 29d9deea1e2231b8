/**
 * Lays out guest physical memory before vCPU 0 starts, as firmware would: the
 * boot-parameters page, the command line, the kernel shared page (zeroed) and
 * the root filesystem image, then the memory map of what is left free.
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
  MEMMAP_ENTRY_LAYOUT as M,
  MIN_MEMORY,
  PAGE_SIZE,
  ROOTFS_ADDR,
} from './abi.js';
import { HvError } from './errors.js';

/** A device as the boot page lists it. */
export interface BootDevice {
  readonly mmioBase: number;
  readonly irq: number;
  readonly deviceId: number;
}

/** Everything the boot page says. */
export interface BootLayout {
  readonly memoryBytes: number;
  readonly cpuCount: number;
  readonly cmdline: Uint8Array;
  readonly rootfs: Uint8Array;
  readonly devices: readonly BootDevice[];
  /** Wall clock at power-on, ns since the Unix epoch (a bigint: exceeds 2^53). */
  readonly bootTimeNs: bigint;
}

function put64(dv: DataView, at: number, value: number | bigint): void {
  const v = BigInt(value);
  dv.setUint32(at, Number(v & 0xffffffffn), true);
  dv.setUint32(at + 4, Number(v >> 32n), true);
}

/** Writes the boot page, command line and rootfs into `memory`. Throws HvError on what does not fit. */
export function writeBootLayout(memory: SharedArrayBuffer, layout: BootLayout): void {
  const bytes = new Uint8Array(memory);
  if (layout.memoryBytes < MIN_MEMORY || memory.byteLength !== layout.memoryBytes) {
    throw new HvError('BAD_OPTION', `--memory: at least ${MIN_MEMORY / 2 ** 20} MiB of guest memory is needed`);
  }
  if (layout.cmdline.length > CMDLINE_MAX) {
    throw new HvError('BAD_OPTION', `--cmdline: ${layout.cmdline.length} bytes is longer than the ${CMDLINE_MAX} the boot page holds`);
  }
  if (layout.devices.length > MAX_DEVICES) {
    throw new HvError('BAD_OPTION', `too many devices: ${layout.devices.length} (at most ${MAX_DEVICES})`);
  }
  const rootfsEnd = ROOTFS_ADDR + layout.rootfs.length;
  const freeBase = Math.ceil(rootfsEnd / PAGE_SIZE) * PAGE_SIZE;
  if (freeBase + 2 * 2 ** 20 > layout.memoryBytes) {
    throw new HvError(
      'BAD_OPTION',
      `--memory: ${layout.memoryBytes} bytes cannot hold the ${layout.rootfs.length}-byte root filesystem and leave 2 MiB for the kernel — give more memory`,
    );
  }
  bytes.set(layout.cmdline, CMDLINE_ADDR);
  bytes.set(layout.rootfs, ROOTFS_ADDR);

  const dv = new DataView(memory, BOOT_PARAMS_ADDR, B.SIZE);
  dv.setUint32(B.magic.offset, BOOT_MAGIC, true);
  dv.setUint32(B.version.offset, BOOT_VERSION, true);
  put64(dv, B.memoryLo.offset, layout.memoryBytes);
  dv.setUint32(B.cpuCount.offset, layout.cpuCount, true);
  dv.setUint32(B.cmdlineLength.offset, layout.cmdline.length, true);
  dv.setUint32(B.rootfsAddr.offset, ROOTFS_ADDR, true);
  dv.setUint32(B.rootfsLength.offset, layout.rootfs.length, true);
  dv.setUint32(B.deviceCount.offset, layout.devices.length, true);
  put64(dv, B.bootTimeLo.offset, layout.bootTimeNs);
  layout.devices.forEach((d, i) => {
    const at = B.devices.offset + i * D.SIZE;
    put64(dv, at + D.mmioLo.offset, d.mmioBase);
    dv.setUint32(at + D.irq.offset, d.irq, true);
    dv.setUint32(at + D.deviceId.offset, d.deviceId, true);
  });
  // One free range: everything above the rootfs. (Low memory below ROOTFS_ADDR
  // holds the boot pages and is left to the kernel's own bookkeeping.)
  dv.setUint32(B.memmapCount.offset, 1, true);
  put64(dv, B.memmap.offset + M.baseLo.offset, freeBase);
  put64(dv, B.memmap.offset + M.lengthLo.offset, layout.memoryBytes - freeBase);
}
