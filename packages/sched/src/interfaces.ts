/**
 * What the scheduler needs from its host: a clock, a way to idle, a way to
 * wake another CPU, and (optionally) where each CPU's state and preemption
 * words live. On the hv these are the guest hardware's monotonic clock, an
 * Atomics.wait on the vCPU's WAKE word, the IRQ_IPI_WAKE interrupt, and the
 * control buffer's CPU_STATE / PREEMPT words; in a plain Node process they come
 * from `@osv-ts/sched/host`; in the simulation from the virtual machine.
 */

/** A monotonic clock. */
export interface Clock {
  /** Nanoseconds since an arbitrary origin, the same origin on every CPU sharing one scheduler area. Must not go backwards. */
  nowNs(): number;
}

/**
 * How an idle CPU waits. The scheduler polls its incoming queues for
 * `pollNs`, then publishes CPU_SLEEPING, reads `prepareSleep`'s token, checks
 * its queues one last time and calls `sleep`. A waker that sees CPU_SLEEPING
 * calls {@link IpiSender.sendWake}, which must make a `sleep` given an older
 * token return (so no wake-up is lost between the last check and the sleep).
 */
export interface CpuIdle {
  /** How long to spin-poll before sleeping, ns (0: sleep at once). */
  readonly pollNs: number;
  /**
   * Adaptive polling, as KVM's halt_poll_ns: the longest the poll window may
   * grow to, ns. A sleep that a wake-up ended sooner than this doubles the
   * CPU's window (polling that long would have caught it without the cost of
   * sleeping and being woken); a longer sleep halves it back towards
   * `pollNs`. Omitted or ≤ pollNs: the window stays `pollNs`.
   */
  readonly maxPollNs?: number;
  /** Called on each polling round: service pending interrupts (the kernel's hook); true if it did something. */
  poll?(cpu: number): boolean;
  /** Reads the wake token (e.g. the WAKE word) before the last queue check. */
  prepareSleep(cpu: number): number;
  /**
   * Sleeps until the token changes, `deadlineNs` (on the scheduler's clock;
   * Infinity for none) passes, or spuriously. May return a promise (sleeping
   * asynchronously, so a host event loop keeps running), or block (Atomics.wait
   * on a worker).
   */
  sleep(cpu: number, token: number, deadlineNs: number): void | Promise<void>;
}

/** Sends the wake-up inter-processor interrupt. */
export interface IpiSender {
  /** Wakes CPU `cpu` from CpuIdle.sleep. Called only when that CPU published CPU_SLEEPING. */
  sendWake(cpu: number): void;
}

/**
 * Where each CPU's run-state word (CPU_RUNNING / CPU_POLLING / CPU_SLEEPING)
 * and preemption flag live. Defaults to the scheduler area's own CPU blocks;
 * the kernel points them at the hv control buffer's CPU_STATE and PREEMPT
 * words, so the hv's time-slice timer and remote wakers raise the same flag
 * the preemption point reads.
 */
export interface CpuWords {
  /** The array holding the words (shared by every CPU). */
  readonly view: Int32Array;
  /** Index in `view` of CPU `cpu`'s run-state word. */
  stateIndex(cpu: number): number;
  /** Index in `view` of CPU `cpu`'s preemption flag (non-zero: reschedule at the next preemption point). */
  preemptIndex(cpu: number): number;
}
