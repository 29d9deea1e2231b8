/**
 * How a vCPU idles under the scheduler: sched's `AtomicsIdle` over the vCPU's
 * WAKE word (wake IPIs raise IRQ_IPI_WAKE in IRQ_PENDING first), with the
 * kernel's interrupt service as its poll hook. Every polling round of the
 * scheduler's idle loop takes this vCPU's pending interrupt lines and hands
 * them to their handlers (arch/interrupts.ts: device lines, TLB shootdowns),
 * then lets the I/O service (drivers/ioWait.ts, vCPU 0 only) poll the busy
 * devices' used rings. Before the vCPU sleeps, the I/O service arms device
 * interrupts; after, it disarms them, and the sleep ends no later than the
 * earliest I/O deadline (a network receive timeout).
 */
import { CPU_BLOCK_LAYOUT as C, IRQ_IPI_WAKE, cpuWord } from '@osv-ts/hv/abi';
import { AtomicsIdle, DEFAULT_POLL_NS, type Clock, type CpuIdle, type IpiSender } from '@osv-ts/sched';
import type { Cpu } from '../arch/cpu.js';
import { dispatchInterrupts } from '../arch/interrupts.js';

/** What the I/O service plugs into the idle loop. Called on the vCPU that owns the idle; must not throw. */
export interface IdleHooks {
  /** Polls busy devices; true when something completed (so the idle loop looks for work again). */
  poll(): boolean;
  /** The vCPU is about to sleep: arm device interrupts. */
  beforeSleep(): void;
  /** The vCPU woke (or decided not to sleep after all): back to polling. */
  afterSleep(): void;
  /** Earliest I/O deadline, ns on the monotonic clock, or Infinity. */
  deadlineNs(): number;
}

/**
 * The longest a vCPU's idle poll window grows to, ns (sched's adaptive
 * halt-polling, CpuIdle.maxPollNs; KVM's default halt_poll_ns is 200 µs).
 * Waking a sleeping vCPU costs about 50 µs on this kind of host; a vCPU whose
 * wake-ups keep arriving within this window (a request/response exchange
 * with the host) polls instead, and one that sleeps longer soon stops polling.
 */
export const MAX_POLL_NS = 200_000;

/** The CpuIdle and IpiSender of one vCPU's scheduler. */
export class KernelIdle implements CpuIdle, IpiSender {
  readonly pollNs: number;
  readonly maxPollNs: number;
  private readonly atomics: AtomicsIdle;
  private readonly irqIndex: number;
  private hooks: IdleHooks | null = null;

  constructor(
    private readonly cpu: Cpu,
    clock: Clock,
    pollNs: number = DEFAULT_POLL_NS,
    maxPollNs: number = MAX_POLL_NS,
  ) {
    this.pollNs = pollNs;
    this.maxPollNs = maxPollNs;
    this.irqIndex = cpuWord(cpu.id, C.IRQ_PENDING);
    const ctl = cpu.ctl;
    this.atomics = new AtomicsIdle(
      { view: ctl, wakeIndex: (c) => cpuWord(c, C.WAKE), irq: { view: ctl, index: (c) => cpuWord(c, C.IRQ_PENDING), bit: IRQ_IPI_WAKE } },
      clock,
      pollNs,
      () => this.service(),
    );
  }

  /** Installs the I/O service's hooks (vCPU 0, once the drivers are up). */
  setHooks(hooks: IdleHooks): void {
    this.hooks = hooks;
  }

  /**
   * Services pending interrupt lines and the I/O hooks; true when it did
   * something. Also what a busy kernel thread calls to keep interrupts moving.
   */
  service(): boolean {
    let did = false;
    if (Atomics.load(this.cpu.ctl, this.irqIndex) !== 0) {
      const lines = this.cpu.takeInterrupts();
      if (lines !== 0) {
        dispatchInterrupts(lines);
        did = true;
      }
    }
    if (this.hooks !== null && this.hooks.poll()) did = true;
    return did;
  }

  poll(cpu: number): boolean {
    return this.atomics.poll(cpu);
  }

  prepareSleep(cpu: number): number {
    this.hooks?.beforeSleep();
    return this.atomics.prepareSleep(cpu);
  }

  sleep(cpu: number, token: number, deadlineNs: number): void {
    const hooks = this.hooks;
    this.atomics.sleep(cpu, token, hooks === null ? deadlineNs : Math.min(deadlineNs, hooks.deadlineNs()));
    hooks?.afterSleep();
  }

  sendWake(cpu: number): void {
    this.atomics.sendWake(cpu);
  }
}
