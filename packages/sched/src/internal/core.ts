/**
 * What the synchronisation objects, timers and thread-local values need from
 * the scheduler of their isolate. The Scheduler implements it; declaring it
 * here keeps those files free of an import of the Scheduler itself.
 */
import type { Cpu } from './cpu.js';
import type { SharedArea } from './sharedArea.js';
import type { ThreadControl } from './threadControl.js';
import type { Clock } from '../interfaces.js';

/** What a blocked thread's timer does when it fires. */
export const WAIT_NONE = 0;
export const WAIT_SLEEP = 1; // sleep(): wake it
export const WAIT_SYNC = 2; // a timed wait in a sync object's FIFO: time it out

/** The scheduler as the rest of the package sees it. */
export interface SchedCore {
  readonly area: SharedArea;
  readonly clock: Clock;
  /** The thread running now in this isolate, or null. */
  readonly executing: ThreadControl | null;
  /** The running thread; throws SchedError EPERM (naming `op`) outside a thread. */
  currentOrThrow(op: string): ThreadControl;
  /** The local CPU `t` is homed on. */
  cpuOf(t: ThreadControl): Cpu;
  /** The CPU running now, or this isolate's first CPU outside any thread. */
  hereCpu(): Cpu;
  /** Parks the running thread `t`, whose state is already WAITING*; undefined if it was woken meanwhile. */
  block(t: ThreadControl): Promise<void> | undefined;
  /** Moves thread `slot` from state `from` to WAKING and gets it onto its CPU; false if it was not in `from`. */
  wakeSlot(slot: number, from: number): boolean;
  /** Arms `t`'s own timer for a wait of kind WAIT_SLEEP or WAIT_SYNC. */
  armWaitTimer(t: ThreadControl, kind: number, deadlineNs: number): void;
  /** Disarms it after the wait ended. */
  cancelWaitTimer(t: ThreadControl): void;
  /** Next thread-local key. */
  nextLocalKey(): number;
}
