/**
 * epoll for netchannel sockets: an interest list, and a ready list that
 * socket notifications fill, so waiting costs nothing per idle socket.
 * Level-triggered by default (a ready socket is reported at every wait until
 * it stops being ready); EPOLLET reports a change once; EPOLLONESHOT disables
 * the registration after one report.
 */
import { NetError } from './errors.js';
import type { Socket } from './socket.js';
import { EPOLLET, EPOLLONESHOT, POLLERR, POLLHUP } from './socketOptions.js';
import type { StackCore } from './internal/stackCore.js';

/** One readiness report. */
export interface PollEvent<T = unknown> {
  /** The socket. */
  socket: Socket;
  /** Events that hold (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP). */
  events: number;
  /** The data given at registration. */
  data: T;
}

class Registration<T> {
  readonly socket: Socket;
  events: number;
  data: T;
  queued = false;
  constructor(socket: Socket, events: number, data: T) {
    this.socket = socket;
    this.events = events;
    this.data = data;
  }
}

/** An epoll instance. Create with NetStack.poller(). */
export class Poller<T = unknown> {
  private readonly core: StackCore;
  private readonly regs = new Map<Socket, Registration<T>>();
  private ready: Registration<T>[] = [];
  private waiter: (() => void) | null = null;
  private readonly onReady = (s: Socket): void => {
    const r = this.regs.get(s);
    if (r === undefined || r.queued || r.events === 0) return;
    r.queued = true;
    this.ready.push(r);
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w();
    }
  };

  /** @internal */
  constructor(core: StackCore) {
    this.core = core;
  }

  /** Registered sockets. */
  get size(): number {
    return this.regs.size;
  }

  /** EPOLL_CTL_ADD. Throws NetError EINVAL when `socket` is already registered. */
  add(socket: Socket, events: number, data: T): void {
    if (this.regs.has(socket)) throw new NetError('EINVAL', 'poller: socket already registered (use modify)');
    const r = new Registration(socket, events, data);
    this.regs.set(socket, r);
    socket.watch(this.onReady);
    this.onReady(socket); // it may be ready already
  }

  /** EPOLL_CTL_MOD. Throws NetError EINVAL when `socket` is not registered. */
  modify(socket: Socket, events: number, data: T): void {
    const r = this.regs.get(socket);
    if (r === undefined) throw new NetError('EINVAL', 'poller: socket not registered');
    r.events = events;
    r.data = data;
    this.onReady(socket);
  }

  /** EPOLL_CTL_DEL; ignores sockets not registered. */
  remove(socket: Socket): void {
    const r = this.regs.get(socket);
    if (r === undefined) return;
    socket.unwatch(this.onReady);
    this.regs.delete(socket);
    r.events = 0;
  }

  /** Collects up to `max` ready sockets without waiting. */
  tryWait(max = 64): PollEvent<T>[] {
    const out: PollEvent<T>[] = [];
    const keep: Registration<T>[] = [];
    const list = this.ready;
    this.ready = [];
    for (const r of list) {
      r.queued = false;
      if (r.events === 0 || !this.regs.has(r.socket)) continue;
      if (out.length >= max) {
        r.queued = true;
        keep.push(r);
        continue;
      }
      const ev = r.socket.poll() & ((r.events & 0xffff) | POLLERR | POLLHUP);
      if (ev === 0) continue;
      out.push({ socket: r.socket, events: ev, data: r.data });
      if ((r.events & EPOLLONESHOT) !== 0) r.events = 0;
      else if ((r.events & EPOLLET) === 0) {
        r.queued = true; // level-triggered: check again next time
        keep.push(r);
      }
    }
    this.ready = keep.concat(this.ready);
    return out;
  }

  /**
   * Waits until at least one registered socket is ready, or `timeoutMs`
   * passes on the stack's clock (-1: forever), then returns up to `max` events.
   */
  async wait(max = 64, timeoutMs = -1): Promise<PollEvent<T>[]> {
    for (;;) {
      const got = this.tryWait(max);
      if (got.length > 0 || timeoutMs === 0) return got;
      const timedOut = await this.sleep(timeoutMs);
      if (timedOut) return this.tryWait(max);
    }
  }

  private sleep(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timers = this.core.timers;
      const t = timers.timer(() => {
        this.waiter = null;
        resolve(true);
      });
      this.waiter = () => {
        timers.cancel(t);
        resolve(false);
      };
      if (timeoutMs > 0) timers.armIn(t, timeoutMs);
    });
  }
}
