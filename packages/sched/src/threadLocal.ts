/**
 * Thread-local values (OSv's __thread / pthread keys): one value per green
 * thread, looked up through the running thread. A value lives as long as its
 * thread; it is not visible from other threads or isolates.
 */
import type { SchedCore } from './internal/core.js';

/** Get one from `Scheduler.threadLocal(init)`. */
export class ThreadLocal<T> {
  private readonly key: number;

  /** @internal Use Scheduler.threadLocal(). */
  constructor(
    private readonly core: SchedCore,
    private readonly init: () => T,
  ) {
    this.key = core.nextLocalKey();
  }

  /** The running thread's value (made with `init` on first use). Throws SchedError EPERM outside a thread. */
  get(): T {
    const t = this.core.currentOrThrow('thread-local get');
    const locals = (t.locals ??= []);
    if (this.key >= locals.length || !(this.key in locals)) locals[this.key] = this.init();
    return locals[this.key] as T;
  }

  /** Sets the running thread's value. Throws SchedError EPERM outside a thread. */
  set(value: T): void {
    const t = this.core.currentOrThrow('thread-local set');
    (t.locals ??= [])[this.key] = value;
  }
}
