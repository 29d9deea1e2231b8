/**
 * DNS over TCP at the user network's DNS address (RFC 1035 §4.2.2: each
 * message with a two-byte length in front), for resolvers that retry a
 * truncated answer over TCP. Queries on one connection are answered in
 * order; an idle connection is closed after IDLE_MS, as servers do.
 */
import type { DnsForwarder } from './dnsForwarder.js';
import type { TcpSocket } from './netchannel.js';

/** A connection with no query for this long is closed, ms. */
const IDLE_MS = 30_000;
/** Largest DNS message over TCP, bytes. */
const DNS_TCP_MAX = 65_535;

/** One DNS-over-TCP connection from the guest. */
export class DnsTcpSession {
  private readonly buf = new Uint8Array(2 + DNS_TCP_MAX);
  private have = 0;
  private idle: NodeJS.Timeout | null = null;
  private closed = false;

  /** Serves queries on `sock` until the guest closes it; `onDone` runs once afterwards. */
  constructor(
    private readonly sock: TcpSocket,
    private readonly dns: DnsForwarder,
    private readonly onDone: () => void,
  ) {
    void this.serve();
  }

  /** Resets the connection now. */
  destroy(): void {
    if (this.closed) return;
    this.sock.abort();
    this.end();
  }

  private async serve(): Promise<void> {
    try {
      for (;;) {
        this.armIdle();
        const msg = await this.nextMessage();
        if (msg === null || this.closed) break;
        const answer = this.dns.answer(msg, 0, msg.length, DNS_TCP_MAX);
        if (answer === null) break; // not a query: nothing sensible to say
        const reply = await answer;
        if (this.closed) return;
        const out = new Uint8Array(2 + reply.length);
        out[0] = reply.length >>> 8;
        out[1] = reply.length & 0xff;
        out.set(reply, 2);
        await this.sock.write(out);
      }
      if (!this.closed) await this.sock.close();
    } catch {
      if (!this.closed) this.sock.abort();
    }
    this.end();
  }

  /** The next length-prefixed message, or null at end of stream. */
  private async nextMessage(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.have >= 2) {
        const len = (this.buf[0]! << 8) | this.buf[1]!;
        if (this.have >= 2 + len) {
          const msg = this.buf.slice(2, 2 + len);
          this.buf.copyWithin(0, 2 + len, this.have);
          this.have -= 2 + len;
          return msg;
        }
      }
      const n = await this.sock.read(this.buf, this.have, this.buf.length - this.have);
      if (n === 0) return null;
      this.have += n;
    }
  }

  private armIdle(): void {
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.destroy(), IDLE_MS);
    this.idle.unref();
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idle !== null) clearTimeout(this.idle);
    this.onDone();
  }
}
