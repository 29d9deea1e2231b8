/**
 * What TCP and UDP sockets share: readiness (poll), waiting for readiness
 * (the blocking calls and Poller build on it), and deferred notification:
 * protocol code marks a socket, and waiters run once the stack is quiescent,
 * so an application woken by a readiness change may call back into the stack.
 */
import type { Notifiable } from './internal/stackCore.js';
import type { SocketContext } from './internal/socketContext.js';
import { NetError } from './errors.js';

/** Called with the current readiness mask when it may have changed. */
export type ReadinessWatcher = (socket: Socket) => void;

interface Waiter {
  mask: number;
  resolve: (events: number) => void;
}

/** Base of TcpSocket and UdpSocket. */
export abstract class Socket implements Notifiable {
  /** @internal Owned by the stack's notify list. */
  notifyQueued = false;
  /** @internal */
  protected readonly ctx: SocketContext;
  private readonly waiters: Waiter[] = [];
  private readonly watchers = new Set<ReadinessWatcher>();
  /** True once close() was called. */
  protected closed = false;

  /** @internal Sockets are made by NetStack.tcpSocket()/udpSocket(). */
  protected constructor(ctx: SocketContext) {
    this.ctx = ctx;
    ctx.open++;
  }

  /** Current readiness: POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP bits. Never blocks. */
  abstract poll(): number;

  /**
   * Resolves with the readiness mask once any of `mask`'s events (or POLLERR,
   * POLLHUP) holds; at once if one already does. Throws NetError EBADF on a closed socket.
   */
  waitFor(mask: number): Promise<number> {
    if (this.closed) return Promise.reject(new NetError('EBADF', 'waitFor on a closed socket'));
    const now = this.poll() & (mask | 0x018);
    if (now !== 0) return Promise.resolve(now);
    return new Promise((resolve) => this.waiters.push({ mask: mask | 0x018, resolve }));
  }

  /** Registers a watcher called (outside protocol processing) whenever readiness may have changed. */
  watch(w: ReadinessWatcher): void {
    this.watchers.add(w);
  }

  /** Removes a watcher. */
  unwatch(w: ReadinessWatcher): void {
    this.watchers.delete(w);
  }

  /** @internal StackCore calls this once the stack is quiescent. */
  deliverNotify(): void {
    const ws = this.waiters;
    if (ws.length > 0) {
      const ready = this.poll();
      let kept = 0;
      for (let i = 0; i < ws.length; i++) {
        const w = ws[i]!;
        const hit = ready & w.mask;
        if (hit !== 0 || this.closed) w.resolve(hit);
        else ws[kept++] = w;
      }
      ws.length = kept;
    }
    for (const w of this.watchers) w(this);
  }

  /** @internal Queues a readiness notification. */
  protected notify(): void {
    this.ctx.core.notify(this);
  }

  /** Runs `fn` as a stack entry point (deferred work drains when it returns). */
  protected run<T>(fn: () => T): T {
    const core = this.ctx.core;
    core.enter();
    try {
      return fn();
    } finally {
      core.leave();
    }
  }
}
