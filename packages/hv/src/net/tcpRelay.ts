/**
 * Splices one TCP connection of the gateway stack (the guest's side) to one
 * host socket (`node:net`), both ways, until both are closed.
 *
 * Backpressure: bytes from the host go into the guest socket's send buffer;
 * what does not fit waits in `pending` and the host socket is paused until
 * the guest side reports room (POLLOUT). Bytes from the guest are read only
 * while the host socket's write buffer is below its high-water mark; when it
 * is not, reading stops, the gateway stack's receive buffer fills and its
 * advertised window closes, which stops the guest — until 'drain'.
 *
 * Closing: a FIN from either side is passed on as a FIN (shutdown of the
 * sending half; the other half keeps flowing). A reset or error on either
 * side resets the other. The relay is finished once the guest connection
 * has reached CLOSED or TIME-WAIT and the host socket has closed.
 */
import type { Socket } from 'node:net';
import { NET_ERRNO, SHUT_WR, type TcpSocket } from './netchannel.js';

const EAGAIN = -NET_ERRNO.EAGAIN;
/** Most bytes read from the guest side in one go. */
const READ_CHUNK = 256 * 1024;

/** One spliced connection. */
export class TcpRelay {
  /** Host bytes the guest socket had no room for yet. */
  private pending: Buffer | null = null;
  /** The host socket's write buffer is over its high-water mark: do not read the guest side. */
  private hostBlocked = false;
  /** The guest sent FIN and host.end() was called. */
  private guestEof = false;
  /** The host sent FIN. */
  private hostEof = false;
  /** The host's FIN was passed to the guest (shutdown SHUT_WR). */
  private finSent = false;
  private hostClosed = false;
  private finished = false;
  private scheduled = false;
  private readonly watcher = (): void => this.schedule();
  private readonly pumpNow = (): void => this.pump();

  /**
   * Starts relaying. `guest` is connected (or accepted); `host` is connected
   * and may be paused. `onDone` runs once, when the relay has finished.
   */
  constructor(
    private readonly guest: TcpSocket,
    private readonly host: Socket,
    private readonly onDone: () => void,
  ) {
    guest.watch(this.watcher);
    host.on('data', (chunk: Buffer) => this.fromHost(chunk));
    host.on('end', () => {
      this.hostEof = true;
      this.schedule();
    });
    host.on('drain', () => {
      this.hostBlocked = false;
      this.schedule();
    });
    host.on('error', () => {}); // 'close' follows with hadError
    host.on('close', (hadError: boolean) => this.hostGone(hadError));
    if (host.destroyed) queueMicrotask(() => this.hostGone(true));
    host.resume();
    this.schedule();
  }

  /** True once both sides are closed. */
  get done(): boolean {
    return this.finished;
  }

  /** Tears the connection down now: RST to the guest, the host socket destroyed. */
  destroy(): void {
    this.resetGuest();
  }

  private schedule(): void {
    if (this.scheduled || this.finished) return;
    this.scheduled = true;
    queueMicrotask(this.pumpNow);
  }

  private fromHost(chunk: Buffer): void {
    if (this.finished) return;
    if (this.pending !== null) {
      this.pending = Buffer.concat([this.pending, chunk]);
      this.host.pause();
      return;
    }
    const n = this.guest.tryWrite(chunk);
    if (n === chunk.length) return;
    if (n >= 0 || n === EAGAIN) {
      this.pending = chunk.subarray(Math.max(n, 0));
      this.host.pause();
      return;
    }
    this.resetHost();
  }

  /** Moves what can move, then checks whether the relay is finished. */
  private pump(): void {
    this.scheduled = false;
    if (this.finished) return;
    if (!this.flushPending()) return;
    if (this.hostEof && this.pending === null && !this.finSent) {
      this.finSent = true;
      try {
        this.guest.shutdown(SHUT_WR);
      } catch {
        this.resetHost(); // ENOTCONN: the guest reset the connection meanwhile
        return;
      }
    }
    if (!this.fromGuest()) return;
    const st = this.guest.state;
    if (st !== 'CLOSED' && st !== 'TIME-WAIT') return;
    if (st === 'CLOSED' && !(this.guestEof && this.finSent)) this.resetHost(); // the guest reset the connection
    else if (this.hostClosed) this.finish();
  }

  /** Writes pending host bytes to the guest; false when the relay was torn down. */
  private flushPending(): boolean {
    const p = this.pending;
    if (p === null) return true;
    const n = this.guest.tryWrite(p);
    if (n < 0 && n !== EAGAIN) {
      this.resetHost();
      return false;
    }
    if (n === p.length) {
      this.pending = null;
      if (!this.hostEof) this.host.resume();
    } else if (n > 0) {
      this.pending = p.subarray(n);
    }
    return true;
  }

  /** Reads the guest side into the host socket while it takes more; false when the relay was torn down. */
  private fromGuest(): boolean {
    while (!this.hostBlocked && !this.guestEof) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(this.guest.readableBytes, 1), READ_CHUNK));
      const n = this.guest.tryRead(buf);
      if (n === EAGAIN) return true;
      if (n === 0) {
        this.guestEof = true;
        this.host.end();
      } else if (n > 0) {
        if (!this.host.write(n === buf.length ? buf : buf.subarray(0, n))) this.hostBlocked = true;
      } else {
        this.resetHost();
        return false;
      }
    }
    return true;
  }

  private hostGone(hadError: boolean): void {
    this.hostClosed = true;
    if (hadError || !this.hostEof) this.resetGuest();
    else this.schedule();
  }

  /** The guest side failed: reset the host side. */
  private resetHost(): void {
    if (this.finished) return;
    this.host.resetAndDestroy();
    this.guest.abort();
    this.finish();
  }

  /** The host side failed: reset the guest side. */
  private resetGuest(): void {
    if (this.finished) return;
    this.guest.abort();
    this.host.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.guest.unwatch(this.watcher);
    void this.guest.close();
    if (!this.host.destroyed) this.host.destroy();
    this.onDone();
  }
}
