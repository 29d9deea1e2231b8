/**
 * The handle of a green thread, as spawn() returns it. Threads are named
 * across isolates by their numeric id (slot and generation); the handle is a
 * convenience over the Scheduler's id-based calls.
 */

/** What a handle asks of its scheduler (the Scheduler implements it). */
export interface ThreadOps {
  join(tid: number): Promise<unknown>;
  detach(tid: number): void;
  cpuTimeNs(tid: number): number;
  priorityOf(tid: number): number;
  setPriority(tid: number, priority: number): void;
  cpuOfThread(tid: number): number;
  pin(tid: number, cpu: number): void;
}

/** A green thread. */
export class Thread {
  private finalCpuNs = -1;

  /** @internal Use Scheduler.spawn(). */
  constructor(
    private readonly ops: ThreadOps,
    /** Thread id: unique among live threads of a scheduler area. */
    readonly id: number,
    /** Name given at spawn, for debugging. */
    readonly name: string,
  ) {}

  /**
   * Waits for the thread to finish and returns what its body returned, or
   * throws what it threw. Only one thread may join a thread. Throws SchedError
   * EDEADLK for a self-join, EINVAL if it is detached or already joined, ESRCH
   * if it is gone.
   */
  join(): Promise<unknown> {
    return this.ops.join(this.id);
  }

  /** Lets the thread free itself when it finishes; it can no longer be joined. Throws SchedError EINVAL if already detached or joined. */
  detach(): void {
    this.ops.detach(this.id);
  }

  /**
   * CPU time it consumed, ns (exact on its own CPU; as of its last switch when
   * read from another isolate; final once it was joined or reaped). Throws
   * SchedError ESRCH for a thread of another isolate that is gone.
   */
  cpuTimeNs(): number {
    return this.finalCpuNs >= 0 ? this.finalCpuNs : this.ops.cpuTimeNs(this.id);
  }

  /** @internal Records the final CPU time when the thread's slot is freed. */
  settle(cpuNs: number): void {
    this.finalCpuNs = cpuNs;
  }

  /** Keeps it on CPU `cpu`; see Scheduler.pin (throws SchedError ENOTSUP for a started thread elsewhere). */
  pin(cpu: number): void {
    this.ops.pin(this.id, cpu);
  }

  /** The CPU it is homed on. */
  get cpu(): number {
    return this.ops.cpuOfThread(this.id);
  }

  /** Its priority: 1 normal, p/2 gets twice the CPU of p, PRIORITY_IDLE runs only when nothing else can. */
  get priority(): number {
    return this.ops.priorityOf(this.id);
  }

  set priority(p: number) {
    this.ops.setPriority(this.id, p);
  }
}
