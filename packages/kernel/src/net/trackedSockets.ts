/**
 * netchannel's sockets as kernel threads must use them. A thread that awaits
 * a promise the scheduler does not know about keeps its vCPU (nothing else
 * runs, nothing polls the network device): every promise a socket returns is
 * therefore handed to the I/O wait service (`track`), which parks the thread
 * until it settles; sockets a promise yields (accept) are wrapped the same.
 */
import type { NetchannelModule } from './kernelNet.js';

/** Parks the calling thread until `p` settles (drivers/ioWait.ts IoWait.track). */
export type Track = <T>(p: Promise<T>) => Promise<T>;

const wrapped = new WeakMap<object, object>();

/** `target` with every promise-returning method routed through `track`. */
export function tracked<T extends object>(target: T, track: Track, nc: NetchannelModule): T {
  const isSocket = (x: unknown): x is object => x instanceof nc.TcpSocket || x instanceof nc.UdpSocket;
  const have = wrapped.get(target);
  if (have) return have as T;
  const proxy = new Proxy(target, {
    get(t, key) {
      const v = Reflect.get(t, key, t) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]): unknown => {
        const out = (v as (...a: unknown[]) => unknown).apply(t, args);
        if (!(out instanceof Promise)) return isSocket(out) ? tracked(out, track, nc) : out;
        return track(out).then((r: unknown) => (isSocket(r) ? tracked(r, track, nc) : r));
      };
    },
  });
  wrapped.set(target, proxy);
  return proxy;
}
