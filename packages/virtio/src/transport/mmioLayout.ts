/**
 * The virtio-mmio register file, version 2 ("non-legacy"), virtio-v1.2
 * section 4.2.2. One 4 KiB window per device; registers are 32 bits wide,
 * little-endian, and must be accessed with aligned 32-bit accesses; the
 * device-specific configuration space from 0x100 may also be accessed with
 * 8- and 16-bit accesses (4.2.2.2). Gaps in the map are declared as reserved
 * fields so every offset comes out of the table.
 *
 * Access, from the driver's side: R = read-only, W = write-only, RW = both.
 */

import { packed } from '../layout.js';

/** Register map of a virtio-mmio v2 device window (4.2.2, table "MMIO Device Register Layout"). */
export const VIRTIO_MMIO_LAYOUT = packed([
  ['MagicValue', 4], // 0x000 R  VIRTIO_MMIO_MAGIC_VALUE
  ['Version', 4], // 0x004 R  VIRTIO_MMIO_VERSION (2)
  ['DeviceID', 4], // 0x008 R  VIRTIO_ID_*; 0 = no device here
  ['VendorID', 4], // 0x00c R
  ['DeviceFeatures', 4], // 0x010 R  32 device feature bits selected by DeviceFeaturesSel
  ['DeviceFeaturesSel', 4], // 0x014 W  0: bits 0..31, 1: bits 32..63
  ['reserved0', 8], // 0x018
  ['DriverFeatures', 4], // 0x020 W  32 driver feature bits selected by DriverFeaturesSel
  ['DriverFeaturesSel', 4], // 0x024 W
  ['reserved1', 8], // 0x028 (legacy GuestPageSize)
  ['QueueSel', 4], // 0x030 W  queue the Queue* registers below refer to
  ['QueueNumMax', 4], // 0x034 R  largest size of the selected queue; 0 = no such queue
  ['QueueNum', 4], // 0x038 W  size the driver will use
  ['reserved2', 8], // 0x03c (legacy QueueAlign, QueuePFN)
  ['QueueReady', 4], // 0x044 RW 1: the selected queue may be used
  ['reserved3', 8], // 0x048
  ['QueueNotify', 4], // 0x050 W  index of a queue with new buffers
  ['reserved4', 12], // 0x054
  ['InterruptStatus', 4], // 0x060 R  VIRTIO_MMIO_INT_* pending
  ['InterruptACK', 4], // 0x064 W  VIRTIO_MMIO_INT_* handled
  ['reserved5', 8], // 0x068
  ['Status', 4], // 0x070 RW device status (VIRTIO_CONFIG_S_*); writing 0 resets
  ['reserved6', 12], // 0x074
  ['QueueDescLow', 4], // 0x080 W  descriptor table physical address, low 32 bits
  ['QueueDescHigh', 4], // 0x084 W  high 32 bits
  ['reserved7', 8], // 0x088
  ['QueueDriverLow', 4], // 0x090 W  available ring (driver area) address
  ['QueueDriverHigh', 4], // 0x094 W
  ['reserved8', 8], // 0x098
  ['QueueDeviceLow', 4], // 0x0a0 W  used ring (device area) address
  ['QueueDeviceHigh', 4], // 0x0a4 W
  ['reserved9', 4], // 0x0a8
  ['SHMSel', 4], // 0x0ac W  shared memory region id
  ['SHMLenLow', 4], // 0x0b0 R  its length; -1 (all ones) when there is no such region
  ['SHMLenHigh', 4], // 0x0b4 R
  ['SHMBaseLow', 4], // 0x0b8 R  its guest physical base
  ['SHMBaseHigh', 4], // 0x0bc R
  ['QueueReset', 4], // 0x0c0 RW (VIRTIO_F_RING_RESET) reset the selected queue
  ['reserved10', 56], // 0x0c4
  ['ConfigGeneration', 4], // 0x0fc R  changes whenever the config space may have changed
  ['Config', 0xf00], // 0x100 RW device-specific configuration space, to the window's end
] as const);

/** Value of MagicValue: the bytes 'virt' read as a little-endian word (4.2.2). */
export const VIRTIO_MMIO_MAGIC_VALUE = 0x74726976;
/** Value of Version for the non-legacy interface this package implements (4.2.2). */
export const VIRTIO_MMIO_VERSION = 2;
/** Size of one device's register window, bytes. */
export const VIRTIO_MMIO_WINDOW_SIZE = VIRTIO_MMIO_LAYOUT.SIZE;
/** Offset of the device-specific configuration space within the window. */
export const VIRTIO_MMIO_CONFIG_OFFSET = VIRTIO_MMIO_LAYOUT.Config.offset;
/** Vendor ID osv-ts devices report: 'OSVT' as a little-endian word. */
export const VIRTIO_MMIO_VENDOR_OSV_TS = 0x5456534f;

/** InterruptStatus bit: a used buffer notification (the device used buffers in some queue). */
export const VIRTIO_MMIO_INT_VRING = 1;
/** InterruptStatus bit: a configuration change notification (config space or DEVICE_NEEDS_RESET). */
export const VIRTIO_MMIO_INT_CONFIG = 2;
