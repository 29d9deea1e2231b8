/**
 * The host's view of the control buffer (abi.ts CONTROL_LAYOUT): the wires
 * between the hv and its vCPUs. One instance per machine, used only on the hv's
 * main thread; the guest has its own accessors in the kernel.
 */
import {
  BOOT_TRACE_SLOTS,
  CONTROL_BYTES,
  CONTROL_LAYOUT,
  CONTROL_MAGIC,
  CPU_BLOCK_LAYOUT as C,
  cpuWord,
} from './abi.js';

/** Word index helpers for one vCPU's block. */
export interface CpuWords {
  readonly state: number;
  readonly kind: number;
  readonly addrLo: number;
  readonly addrHi: number;
  readonly size: number;
  readonly value: number;
  readonly args: readonly [number, number, number, number];
  readonly irqPending: number;
  readonly wake: number;
  readonly cpuState: number;
  readonly preempt: number;
}

/** The control buffer with typed views, created once per machine. */
export class ControlBuffer {
  /** The shared buffer itself (handed to every vCPU). */
  readonly sab: SharedArrayBuffer;
  /** 32-bit word view over the whole buffer. */
  readonly i32: Int32Array;
  /** Float64 view of the boot-trace slots (ns since power-on, 0 = not reached). */
  readonly bootTrace: Float64Array;
  /** Per-vCPU word indices. */
  readonly cpus: readonly CpuWords[];

  constructor(cpuCount: number) {
    this.sab = new SharedArrayBuffer(CONTROL_BYTES);
    this.i32 = new Int32Array(this.sab);
    this.bootTrace = new Float64Array(this.sab, CONTROL_LAYOUT.BOOT_TRACE.offset * 4, BOOT_TRACE_SLOTS);
    this.i32[CONTROL_LAYOUT.MAGIC.offset] = CONTROL_MAGIC;
    this.i32[CONTROL_LAYOUT.CPU_COUNT.offset] = cpuCount;
    const cpus: CpuWords[] = [];
    for (let cpu = 0; cpu < cpuCount; cpu++) {
      cpus.push({
        state: cpuWord(cpu, C.EXIT_STATE),
        kind: cpuWord(cpu, C.EXIT_KIND),
        addrLo: cpuWord(cpu, C.EXIT_ADDR_LO),
        addrHi: cpuWord(cpu, C.EXIT_ADDR_HI),
        size: cpuWord(cpu, C.EXIT_SIZE),
        value: cpuWord(cpu, C.EXIT_VALUE),
        args: [cpuWord(cpu, C.ARG0), cpuWord(cpu, C.ARG1), cpuWord(cpu, C.ARG2), cpuWord(cpu, C.ARG3)],
        irqPending: cpuWord(cpu, C.IRQ_PENDING),
        wake: cpuWord(cpu, C.WAKE),
        cpuState: cpuWord(cpu, C.CPU_STATE),
        preempt: cpuWord(cpu, C.PREEMPT),
      });
    }
    this.cpus = cpus;
  }

  /** Word indices of vCPU `cpu`; throws RangeError for a CPU the machine lacks. */
  cpu(cpu: number): CpuWords {
    const w = this.cpus[cpu];
    if (!w) throw new RangeError(`no vCPU ${cpu}`);
    return w;
  }

  /** Raises interrupt `line` on `cpu` and wakes it if it sleeps. */
  raiseIrq(cpu: number, line: number): void {
    const w = this.cpu(cpu);
    Atomics.or(this.i32, w.irqPending, 1 << line);
    Atomics.add(this.i32, w.wake, 1);
    Atomics.notify(this.i32, w.wake);
  }

  /** Marks the machine powered off with `code`; vCPUs see it at their next exit. */
  powerOff(code: number): void {
    Atomics.store(this.i32, CONTROL_LAYOUT.EXIT_CODE.offset, code);
    Atomics.store(this.i32, CONTROL_LAYOUT.POWER.offset, 1);
  }

  /** Raises every running vCPU's preemption flag (the time-slice tick). */
  tickPreempt(): void {
    for (const w of this.cpus) Atomics.store(this.i32, w.preempt, 1);
  }

  /** The vCPU's run state (CPU_* in abi.ts). */
  cpuState(cpu: number): number {
    return Atomics.load(this.i32, this.cpu(cpu).cpuState);
  }
}

