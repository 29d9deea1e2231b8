/**
 * One vCPU as the kernel sees it: its exit slot (MMIO and hypercalls), its
 * interrupt bitmap and wake word, its run state and preemption flag — all
 * words of the control buffer (hv abi.ts CPU_BLOCK_LAYOUT).
 *
 * Exit protocol (the vCPU's half): wait until the slot is SLOT_FREE (a posted
 * write may still be in flight), fill it, publish SLOT_SYNC or SLOT_POSTED with
 * Atomics.store and notify the hv. For a synchronous exit, spin a bounded
 * number of times for SLOT_DONE (a round trip to a hv that is awake costs a
 * few µs), then Atomics.wait; read EXIT_VALUE and free the slot.
 */
import {
  BOOT_TRACE,
  BOOT_TRACE_SLOTS,
  CONTROL_LAYOUT,
  CPU_BLOCK_LAYOUT as C,
  CPU_RUNNING,
  CPU_SLEEPING,
  EXIT_HYPERCALL,
  EXIT_MMIO_READ,
  EXIT_MMIO_WRITE,
  HC_CONSOLE_WRITE,
  HC_PANIC,
  HC_POWER_OFF,
  SLOT_DONE,
  SLOT_FREE,
  SLOT_POSTED,
  SLOT_SYNC,
  cpuWord,
  type BootTracePoint,
  type GuestHardware,
} from '@osv-ts/hv/abi';

/** Spins before sleeping on an exit's completion (each spin is one Atomics.load). */
const EXIT_SPINS = 20_000;
/** Spins an idle vCPU polls its interrupts before Atomics.wait. */
const IDLE_SPINS = 2_000;

/** The current vCPU's hardware interface. One instance per vCPU realm. */
export class Cpu {
  /** This vCPU's index. */
  readonly id: number;
  /** Number of vCPUs the machine has. */
  readonly count: number;
  readonly hw: GuestHardware;
  /** The control buffer as 32-bit words. */
  readonly ctl: Int32Array;
  private readonly trace: Float64Array;
  private readonly wState: number;
  private readonly wKind: number;
  private readonly wAddrLo: number;
  private readonly wAddrHi: number;
  private readonly wSize: number;
  private readonly wValue: number;
  private readonly wArg0: number;
  private readonly wArg1: number;
  private readonly wArg2: number;
  private readonly wIrq: number;
  private readonly wWake: number;
  private readonly wCpuState: number;
  private readonly wPreempt: number;

  constructor(hw: GuestHardware) {
    this.hw = hw;
    this.id = hw.cpu;
    this.ctl = new Int32Array(hw.control);
    this.count = this.ctl[CONTROL_LAYOUT.CPU_COUNT.offset] ?? 1;
    this.trace = new Float64Array(hw.control, CONTROL_LAYOUT.BOOT_TRACE.offset * 4, BOOT_TRACE_SLOTS);
    const w = (f: typeof C.EXIT_STATE): number => cpuWord(hw.cpu, f);
    this.wState = w(C.EXIT_STATE);
    this.wKind = w(C.EXIT_KIND);
    this.wAddrLo = w(C.EXIT_ADDR_LO);
    this.wAddrHi = w(C.EXIT_ADDR_HI);
    this.wSize = w(C.EXIT_SIZE);
    this.wValue = w(C.EXIT_VALUE);
    this.wArg0 = w(C.ARG0);
    this.wArg1 = w(C.ARG1);
    this.wArg2 = w(C.ARG2);
    this.wIrq = w(C.IRQ_PENDING);
    this.wWake = w(C.WAKE);
    this.wCpuState = w(C.CPU_STATE);
    this.wPreempt = w(C.PREEMPT);
  }

  /** Reads a 32-bit device register (a synchronous VM exit). */
  mmioRead32(addr: number): number {
    this.fill(EXIT_MMIO_READ, addr, 4, 0);
    return this.completeSync() >>> 0;
  }

  /** Writes a 32-bit device register (posted: returns before the device acts). */
  mmioWrite32(addr: number, value: number): void {
    this.fill(EXIT_MMIO_WRITE, addr, 4, value | 0);
    this.publish(SLOT_POSTED);
  }

  /** Early console: writes `len` bytes at physical `addr` straight to the hv's console. */
  consoleWrite(addr: number, len: number): number {
    this.fillHypercall(HC_CONSOLE_WRITE, addr, len, 0);
    return this.completeSync();
  }

  /** Powers the machine off with `code`. Never returns. */
  powerOff(code: number): never {
    this.fillHypercall(HC_POWER_OFF, code & 0xff, 0, 0);
    this.publish(SLOT_SYNC);
    return this.halt();
  }

  /** Stops the machine with a panic message at physical `addr`. Never returns. */
  panic(addr: number, len: number, code: number): never {
    this.fillHypercall(HC_PANIC, addr, len, code);
    this.publish(SLOT_SYNC);
    return this.halt();
  }

  /** Records a boot-trace point with the monotonic clock. */
  bootTrace(point: BootTracePoint): void {
    this.trace[BOOT_TRACE[point]] = this.hw.monotonicNs();
  }

  /** Takes and clears this vCPU's pending interrupt lines. */
  takeInterrupts(): number {
    return Atomics.exchange(this.ctl, this.wIrq, 0);
  }

  /** True when the time-slice timer has asked this vCPU to reschedule; clears the flag. */
  preemptRequested(): boolean {
    return this.ctl[this.wPreempt] !== 0 && Atomics.exchange(this.ctl, this.wPreempt, 0) !== 0;
  }

  /** Sets this vCPU's run state word (CPU_* in abi.ts). */
  setState(state: number): void {
    Atomics.store(this.ctl, this.wCpuState, state);
  }

  /**
   * Idles until an interrupt is pending or `timeoutMs` passes: polls briefly,
   * then sleeps on the wake word. Returns the pending lines (not cleared).
   */
  idle(timeoutMs: number): number {
    const ctl = this.ctl;
    for (let i = 0; i < IDLE_SPINS; i++) {
      const p = Atomics.load(ctl, this.wIrq);
      if (p !== 0) return p;
    }
    const seen = Atomics.load(ctl, this.wWake);
    const pending = Atomics.load(ctl, this.wIrq);
    if (pending !== 0) return pending;
    this.setState(CPU_SLEEPING);
    Atomics.wait(ctl, this.wWake, seen, timeoutMs);
    this.setState(CPU_RUNNING);
    return Atomics.load(ctl, this.wIrq);
  }

  /** Sends an interrupt on `line` to vCPU `cpu`, waking it if it sleeps. */
  sendIpi(cpu: number, line: number): void {
    const ctl = this.ctl;
    Atomics.or(ctl, cpuWord(cpu, C.IRQ_PENDING), 1 << line);
    const wake = cpuWord(cpu, C.WAKE);
    Atomics.add(ctl, wake, 1);
    Atomics.notify(ctl, wake);
  }

  private fill(kind: number, addr: number, size: number, value: number): void {
    this.waitFree();
    const ctl = this.ctl;
    ctl[this.wKind] = kind;
    ctl[this.wAddrLo] = addr % 4294967296 | 0;
    ctl[this.wAddrHi] = Math.floor(addr / 4294967296) | 0;
    ctl[this.wSize] = size;
    ctl[this.wValue] = value;
  }

  private fillHypercall(nr: number, a0: number, a1: number, a2: number): void {
    this.waitFree();
    const ctl = this.ctl;
    ctl[this.wKind] = EXIT_HYPERCALL;
    ctl[this.wAddrLo] = nr;
    ctl[this.wArg0] = a0 | 0;
    ctl[this.wArg1] = a1 | 0;
    ctl[this.wArg2] = a2 | 0;
  }

  private publish(state: number): void {
    Atomics.store(this.ctl, this.wState, state);
    Atomics.notify(this.ctl, this.wState);
  }

  private completeSync(): number {
    const ctl = this.ctl;
    this.publish(SLOT_SYNC);
    let spins = EXIT_SPINS;
    while (Atomics.load(ctl, this.wState) !== SLOT_DONE) {
      if (--spins < 0) Atomics.wait(ctl, this.wState, SLOT_SYNC, 50);
    }
    const v = ctl[this.wValue] ?? 0;
    Atomics.store(ctl, this.wState, SLOT_FREE);
    return v;
  }

  private waitFree(): void {
    const ctl = this.ctl;
    let spins = EXIT_SPINS;
    for (;;) {
      const s = Atomics.load(ctl, this.wState);
      if (s === SLOT_FREE) return;
      if (--spins < 0) Atomics.wait(ctl, this.wState, s, 50);
    }
  }

  private halt(): never {
    for (;;) Atomics.wait(this.ctl, this.wWake, Atomics.load(this.ctl, this.wWake));
  }
}
