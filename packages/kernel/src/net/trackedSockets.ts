/**
 * netchannel's sockets as kernel threads must use them. A thread that awaits
 * a promise the scheduler does not know about keeps its vCPU (nothing else
 * runs, nothing polls the network device): every promise a socket returns is
 * therefore handed to the I/O wait service (`track`), which parks the thread
 * until it settles; sockets a promise yields (accept) are wrapped the same.
 */
import type { Scheduler } from '@osv-ts/sched';
import type { NetchannelModule } from './kernelNet.js';

/** Parks the calling thread until `p` settles (drivers/ioWait.ts IoWait.track). */
export type Track = <T>(p: Promise<T>) => Promise<T>;

/**
 * A Track that also wakes the thread when the promise settles. The I/O wait
 * service wakes parked threads only at a device completion batch, but a
 * socket promise may settle without one — on a stack timer (SO_LINGER's
 * time, a retransmission giving up, a connect timeout), or a few promise jobs
 * after the batch that caused it, when the woken thread has already looked
 * and parked again. Parking with sched's waitUntil on the promise itself ends
 * the wait in both cases. Outside a thread (or when the scheduler has moved
 * on by the time the wait starts) it falls back to `fallback`.
 */
export function settleWakes(sched: Pick<Scheduler, 'current' | 'wake' | 'waitUntil'>, fallback: Track): Track {
  /** Per thread: settlements so far, and the one park its concurrent waits share (Promise.all). */
  const settled = new Map<number, number>();
  const parks = new Map<number, Promise<void>>();
  const park = (tid: number): Promise<void> => {
    const have = parks.get(tid);
    if (have) return have;
    const seen = settled.get(tid) ?? 0;
    const gate = (async (): Promise<void> => {
      try {
        await sched.waitUntil(() => (settled.get(tid) ?? 0) !== seen);
      } finally {
        parks.delete(tid);
      }
    })();
    parks.set(tid, gate);
    return gate;
  };
  return <T>(p: Promise<T>): Promise<T> => {
    const t = sched.current();
    if (!t) return fallback(p);
    const tid = t.id;
    let done = false;
    const mark = (): void => {
      done = true;
      settled.set(tid, ((settled.get(tid) ?? 0) + 1) | 0);
      sched.wake(tid);
    };
    p.then(mark, mark);
    return (async (): Promise<T> => {
      await null;
      while (!done) {
        if (!parks.has(tid) && sched.current()?.id !== tid) return fallback(p);
        await park(tid);
      }
      return p;
    })();
  };
}

/** Raw object -> its wrapper, and back (a wrapper passed into the stack, e.g. to `poller.add`, must arrive as the object the stack knows). */
const wrapped = new WeakMap<object, object>();
const unwrapped = new WeakMap<object, object>();

/**
 * `target` with every promise-returning method routed through `track`. The
 * sockets and pollers its methods return or resolve with are wrapped too (so
 * `stack.poller().wait()` and a socket from `tryAccept()` park like the
 * rest, and the sockets of poll events are the wrapped ones), and wrapped
 * arguments are handed to the stack as the raw objects it knows.
 */
export function tracked<T extends object>(target: T, track: Track, nc: NetchannelModule): T {
  const isSocket = (x: unknown): x is object => x instanceof nc.TcpSocket || x instanceof nc.UdpSocket || x instanceof nc.Poller;
  const have = wrapped.get(target);
  if (have) return have as T;
  const wrapOut = (r: unknown): unknown => {
    if (isSocket(r)) return tracked(r, track, nc);
    if (Array.isArray(r) && r.length > 0 && isPollEvent(r[0])) {
      for (const e of r as { socket: object }[]) e.socket = tracked(e.socket, track, nc);
    }
    return r;
  };
  const proxy = new Proxy(target, {
    get(t, key) {
      const v = Reflect.get(t, key, t) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]): unknown => {
        for (let i = 0; i < args.length; i++) {
          const a = args[i];
          if (typeof a === 'object' && a !== null) args[i] = unwrapped.get(a) ?? a;
        }
        const out = (v as (...a: unknown[]) => unknown).apply(t, args);
        if (!(out instanceof Promise)) return wrapOut(out);
        return track(out).then(wrapOut);
      };
    },
  });
  wrapped.set(target, proxy);
  unwrapped.set(proxy, target);
  return proxy;
}

function isPollEvent(x: unknown): x is { socket: object; events: number } {
  return typeof x === 'object' && x !== null && 'socket' in x && 'events' in x;
}
