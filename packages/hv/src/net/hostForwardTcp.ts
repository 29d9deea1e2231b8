/**
 * `hostfwd=tcp:...`: a listening socket on the host; each connection it
 * accepts opens a connection from the gateway stack (source: the gateway's
 * address, as in QEMU) to the guest's address and port, and the two are
 * spliced by a TcpRelay. A guest that refuses (RST) or does not answer makes
 * the host connection reset.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { HvError } from '../errors.js';
import type { HostForward } from './userNetOptions.js';
import { formatIPv4, type NetStack, type TcpSocket } from './netchannel.js';
import { TcpRelay } from './tcpRelay.js';

/** Connections forwarded at once; more are reset. */
const MAX_CONNECTIONS = 256;

/** One TCP host-forward rule, listening. */
export class TcpHostForward {
  private readonly relays = new Set<TcpRelay>();
  private readonly connecting = new Set<TcpSocket>();
  private closed = false;

  /**
   * Listens on the rule's host address and port.
   * @throws HvError BAD_OPTION when the host port cannot be listened on (in use, no permission)
   */
  static listen(stack: NetStack, rule: HostForward): Promise<TcpHostForward> {
    return new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true });
      const fwd = new TcpHostForward(stack, rule, server);
      server.once('error', (e: NodeJS.ErrnoException) => {
        reject(new HvError('BAD_OPTION', `--net user,hostfwd=tcp:${rule.hostAddress}:${rule.hostPort}-${formatIPv4(rule.guestAddress)}:${rule.guestPort}: cannot listen on the host port (${e.code ?? e.message}) — pick another port`, { cause: e }));
      });
      server.listen(rule.hostPort, rule.hostAddress, () => {
        server.unref();
        resolve(fwd);
      });
    });
  }

  private constructor(
    private readonly stack: NetStack,
    readonly rule: HostForward,
    private readonly server: Server,
  ) {
    server.on('connection', (s: Socket) => this.connection(s));
  }

  /** The host port listened on (the chosen one when the rule said 0). */
  get port(): number {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : this.rule.hostPort;
  }

  /** Connections being forwarded or connecting. */
  get connections(): number {
    return this.relays.size + this.connecting.size;
  }

  /** Stops listening and resets every forwarded connection. */
  close(): Promise<void> {
    this.closed = true;
    for (const r of [...this.relays]) r.destroy();
    for (const g of this.connecting) g.abort();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private connection(host: Socket): void {
    host.unref();
    host.on('error', () => {}); // the relay learns of it from 'close'
    if (this.closed || this.connections >= MAX_CONNECTIONS) {
      host.resetAndDestroy();
      return;
    }
    const guest = this.stack.tcpSocket();
    guest.setOption('TCP_NODELAY', 1);
    this.connecting.add(guest);
    guest.connect(this.rule.guestAddress, this.rule.guestPort).then(
      () => this.connected(guest, host),
      () => {
        this.connecting.delete(guest);
        void guest.close();
        host.resetAndDestroy();
      },
    );
  }

  private connected(guest: TcpSocket, host: Socket): void {
    this.connecting.delete(guest);
    if (this.closed) {
      guest.abort();
      host.destroy();
      return;
    }
    const relay = new TcpRelay(guest, host, () => this.relays.delete(relay));
    this.relays.add(relay);
  }
}
