/**
 * The machine's architecture manual: everything guest code may rely on about the
 * virtual hardware, and nothing else. The kernel imports this file (it holds no
 * host API), the hv implements it. Layouts are declared once here, as tables of
 * fields; every offset used elsewhere is derived from these tables.
 *
 * Physical address space (bytes):
 *
 *   0x0000_0000  page 0, never mapped (null-pointer guard)
 *   0x0000_1000  boot-parameters page  (BOOT_PARAMS_LAYOUT, written by the hv)
 *   0x0000_2000  command line, UTF-8, at most CMDLINE_MAX bytes
 *   0x0000_3000  kernel shared page: cross-vCPU kernel state (owned by the kernel)
 *   0x0000_4000  panic staging, 16 KiB: where a dying kernel writes its last words
 *   0x0010_0000  root filesystem image, copied in by the hv (like an initrd)
 *   ...          free RAM, listed in the boot parameters' memory map
 *   MMIO_BASE    one 4 KiB virtio-mmio window per device, far above any RAM
 *
 * The control buffer is a second SharedArrayBuffer that is not guest memory: it
 * holds the machine's wires — one VM-exit slot, an interrupt bitmap and a wake
 * word per vCPU — and the boot trace.
 */

import { packed, type Field } from '@osv-ts/virtio';

/** Size of a page, bytes. */
export const PAGE_SIZE = 4096;
/** Physical address of the boot-parameters page. */
export const BOOT_PARAMS_ADDR = 0x1000;
/** Physical address of the command line (UTF-8, not NUL-terminated). */
export const CMDLINE_ADDR = 0x2000;
/** Longest command line the boot page can carry, bytes. */
export const CMDLINE_MAX = 4096;
/** Physical page the kernel keeps cross-vCPU state in (the hv zeroes it). */
export const KERNEL_SHARED_ADDR = 0x3000;
/** Physical address of the 16 KiB the kernel stages a panic message in. */
export const PANIC_STAGING_ADDR = 0x4000;
/** Size of the panic staging area, bytes. */
export const PANIC_STAGING_BYTES = 0x4000;
/** Physical address the root filesystem image is loaded at. */
export const ROOTFS_ADDR = 0x10_0000;
/** Smallest guest memory the hv accepts, bytes. */
export const MIN_MEMORY = 4 * 1024 * 1024;
/** First MMIO window (2^40: above any RAM a SharedArrayBuffer can hold). */
export const MMIO_BASE = 2 ** 40;
/** Size of one device's MMIO window, bytes. */
export const MMIO_WINDOW = 0x1000;
/** Most vCPUs a machine can have (the control buffer's fixed size). */
export const MAX_CPUS = 64;
/** Most devices a machine can have. */
export const MAX_DEVICES = 16;
/** Most memory-map entries. */
export const MAX_MEMMAP = 16;

/** Magic number of the boot-parameters page: 'OSVB' little-endian. */
export const BOOT_MAGIC = 0x4256534f;
/** Version of the boot-parameters layout. */
export const BOOT_VERSION = 1;

/**
 * The boot-parameters page at BOOT_PARAMS_ADDR. All fields little-endian; 64-bit
 * values are two 32-bit halves (low first). Written by the hv before vCPU 0
 * starts; read-only to the guest.
 */
export const BOOT_PARAMS_LAYOUT = packed([
  ['magic', 4], // BOOT_MAGIC
  ['version', 4], // BOOT_VERSION
  ['memoryLo', 4], // guest RAM, bytes
  ['memoryHi', 4],
  ['cpuCount', 4], // vCPUs the machine has
  ['cmdlineLength', 4], // bytes at CMDLINE_ADDR
  ['rootfsAddr', 4], // physical address of the root filesystem image
  ['rootfsLength', 4], // its length, bytes
  ['deviceCount', 4], // entries used in the device table
  ['memmapCount', 4], // entries used in the memory map
  ['bootTimeLo', 4], // wall clock at power-on, ns since the Unix epoch
  ['bootTimeHi', 4],
  ['reserved', 16],
  ['devices', MAX_DEVICES * 16], // DEVICE_ENTRY_LAYOUT[MAX_DEVICES]
  ['memmap', MAX_MEMMAP * 16], // MEMMAP_ENTRY_LAYOUT[MAX_MEMMAP]
] as const);

/** One entry of the boot page's device table. */
export const DEVICE_ENTRY_LAYOUT = packed([
  ['mmioLo', 4], // physical address of the device's MMIO window
  ['mmioHi', 4],
  ['irq', 4], // interrupt line (bit in the vCPU interrupt bitmap)
  ['deviceId', 4], // virtio device ID, for probing without an MMIO exit
] as const);

/** One entry of the boot page's memory map: a range of usable free RAM. */
export const MEMMAP_ENTRY_LAYOUT = packed([
  ['baseLo', 4],
  ['baseHi', 4],
  ['lengthLo', 4],
  ['lengthHi', 4],
] as const);

/**
 * Interrupt lines. Bits of a vCPU's IRQ_PENDING word. Lines below
 * IRQ_FIRST_DEVICE are inter-processor interrupts; device i is wired to line
 * IRQ_FIRST_DEVICE + i and delivered to vCPU 0.
 */
export const IRQ_IPI_WAKE = 0; // "look at your incoming queues"
export const IRQ_IPI_TLB = 1; // TLB shootdown
export const IRQ_TIMER = 2; // a deadline passed
export const IRQ_FIRST_DEVICE = 8;

/** VM-exit kinds (EXIT_KIND). */
export const EXIT_MMIO_READ = 1;
export const EXIT_MMIO_WRITE = 2;
export const EXIT_HYPERCALL = 3;

/** VM-exit slot states (EXIT_STATE). */
export const SLOT_FREE = 0; // the vCPU may fill the slot
export const SLOT_SYNC = 1; // filled; the vCPU waits for SLOT_DONE
export const SLOT_POSTED = 2; // filled; the vCPU went on (posted MMIO write)
export const SLOT_DONE = 3; // the hv completed a SLOT_SYNC exit; EXIT_VALUE holds the result

/** Hypercall numbers (EXIT_ADDR_LO holds the number, ARG0..ARG3 the arguments). */
export const HC_POWER_OFF = 1; // ARG0: exit code (0..255)
export const HC_CONSOLE_WRITE = 2; // ARG0: physical address, ARG1: length; early console, synchronous
export const HC_PANIC = 3; // ARG0: physical address, ARG1: length of a message; exit code 70 unless ARG2

/** vCPU run states (CPU_STATE). */
export const CPU_HALTED = 0; // worker up, waiting for the start IPI
export const CPU_STARTING = 1; // start IPI sent
export const CPU_RUNNING = 2;
export const CPU_POLLING = 3; // idle and polling its queues: no IPI needed to wake it
export const CPU_SLEEPING = 4; // idle in Atomics.wait on WAKE

/**
 * One vCPU's block in the control buffer, in 32-bit words. The owner of each
 * word is noted: "vcpu" words are written only by that vCPU, "hv" only by the
 * hypervisor, "any" with atomic read-modify-write.
 */
export const CPU_BLOCK_LAYOUT = packed([
  ['EXIT_STATE', 1], // SLOT_*; vcpu fills FREE->SYNC|POSTED, hv moves SYNC->DONE and POSTED->FREE, vcpu DONE->FREE
  ['EXIT_KIND', 1], // EXIT_*; vcpu
  ['EXIT_ADDR_LO', 1], // MMIO physical address low half, or hypercall number; vcpu
  ['EXIT_ADDR_HI', 1], // vcpu
  ['EXIT_SIZE', 1], // access size in bytes (1, 2 or 4); vcpu
  ['EXIT_VALUE', 1], // written value (vcpu) or read result (hv)
  ['ARG0', 1], // hypercall arguments; vcpu
  ['ARG1', 1],
  ['ARG2', 1],
  ['ARG3', 1],
  ['IRQ_PENDING', 1], // bitmap of interrupt lines; any sets (Atomics.or), vcpu clears (Atomics.and)
  ['WAKE', 1], // bumped with every interrupt; the vcpu Atomics.waits on it; any
  ['CPU_STATE', 1], // CPU_*; any
  ['PREEMPT', 1], // set to 1 by the hv's time-slice timer; the vcpu clears it at a preemption point
  ['reserved', 50],
] as const);

/** Words per vCPU block (a multiple of 16 so blocks sit on separate cache lines). */
export const CPU_BLOCK_WORDS = CPU_BLOCK_LAYOUT.SIZE;

/**
 * Boot-trace points. vCPU 0 writes GuestHardware.monotonicNs() into slot i of
 * the control buffer's BOOT_TRACE (a Float64Array view) when it passes point i;
 * no VM exit is needed because the clock is the same on every thread.
 */
export const BOOT_TRACE = {
  KERNEL_ENTRY: 0, // the kernel bundle was evaluated and start() called on vCPU 0
  CPUS_ONLINE: 1, // every vCPU answered its start IPI
  DEVICES_UP: 2, // virtio probing and drivers done
  FS_MOUNTED: 3, // root filesystem mounted
  APP_LOADED: 4, // the app's bundle was read and linked
  APP_MAIN: 5, // the app's main() was called
} as const;
export type BootTracePoint = keyof typeof BOOT_TRACE;
export const BOOT_TRACE_SLOTS = 16;

/**
 * The control buffer's global header, in 32-bit words, followed at word
 * CPU_BLOCKS_WORD by MAX_CPUS blocks of CPU_BLOCK_WORDS words.
 */
export const CONTROL_LAYOUT = packed([
  ['MAGIC', 1], // CONTROL_MAGIC
  ['CPU_COUNT', 1],
  ['POWER', 1], // 0 on, 1 off; the hv sets it at power-off, every vCPU stops at its next exit
  ['EXIT_CODE', 1],
  ['reserved2', 28],
  ['BOOT_TRACE', BOOT_TRACE_SLOTS * 2], // Float64 ns since power-on, 0 = not reached; vcpu 0 writes
  // One word per interrupt line: the virtio-mmio InterruptStatus of the device
  // on that line. The device sets bits (Atomics.or) before it raises the line;
  // the driver takes and acknowledges them with one Atomics.exchange(word, 0)
  // instead of an InterruptStatus read exit and an InterruptACK write exit.
  // The registers still work, on the same word.
  ['IRQ_STATUS', 32],
] as const);

/** Word index of interrupt line `irq`'s IRQ_STATUS word in the control buffer. */
export function irqStatusWord(irq: number): number {
  return CONTROL_LAYOUT.IRQ_STATUS.offset + irq;
}
export const CONTROL_MAGIC = 0x4356534f; // 'OSVC'
export const CPU_BLOCKS_WORD = CONTROL_LAYOUT.SIZE;
/** Size of the control buffer, bytes. */
export const CONTROL_BYTES = (CPU_BLOCKS_WORD + MAX_CPUS * CPU_BLOCK_WORDS) * 4;

/** Word index of field `f` in vCPU `cpu`'s block. */
export function cpuWord(cpu: number, f: Field): number {
  return CPU_BLOCKS_WORD + cpu * CPU_BLOCK_WORDS + f.offset;
}

/**
 * The hardware handle the vCPU worker gives the kernel's entry point. These are
 * the only objects from outside guest code can reach: two shared buffers and two
 * clock functions created in the guest's own realm (so no host object leaks
 * through them).
 */
export interface GuestHardware {
  /** This vCPU's index, 0 for the boot CPU. */
  readonly cpu: number;
  /** Guest physical memory. */
  readonly memory: SharedArrayBuffer;
  /** The machine's control buffer (CONTROL_LAYOUT). */
  readonly control: SharedArrayBuffer;
  /** Monotonic clock: nanoseconds since the machine was powered on (same on every vCPU). */
  monotonicNs(): number;
  /** Wall clock: nanoseconds since the Unix epoch (a Number: exact to about 0.25 µs). */
  wallClockNs(): number;
}

/** Name of the global the kernel bundle must define: `(hw: GuestHardware) => void`. */
export const KERNEL_ENTRY_GLOBAL = '__osvKernelStart';

/**
 * Name of the global the kernel may define as its interrupt entry: `() =>
 * void`. A vCPU whose JavaScript has gone idle — its event loop ran dry
 * instead of the kernel blocking in Atomics.wait — is "halted"; the vCPU
 * worker then calls this entry every INTERRUPT_TICK_MS, as hardware delivers
 * interrupts to a halted CPU, so pending device interrupts are serviced and
 * whatever waited on them runs. It never runs while guest code runs or
 * blocks in Atomics.wait.
 */
export const KERNEL_INTERRUPT_GLOBAL = '__osvKernelInterrupt';
/** How often a halted vCPU's interrupt entry is called, ms. */
export const INTERRUPT_TICK_MS = 1;

/** Exit code the hv reports when the guest panics without naming one. */
export const PANIC_EXIT_CODE = 70;
