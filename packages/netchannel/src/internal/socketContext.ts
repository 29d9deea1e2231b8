/**
 * What a socket needs from its stack: the shared core, the transports and IP
 * routing, plus the open-socket count tests check for leaks.
 */
import type { IpOutput } from './ipOutput.js';
import type { StackCore } from './stackCore.js';
import type { TcpLayer } from './tcp/tcpLayer.js';
import type { UdpLayer } from './udpLayer.js';

/** One stack's socket environment. */
export class SocketContext {
  readonly core: StackCore;
  readonly tcp: TcpLayer;
  readonly udp: UdpLayer;
  readonly ip: IpOutput;
  /** Sockets created and not yet closed. */
  open = 0;

  constructor(core: StackCore, tcp: TcpLayer, udp: UdpLayer, ip: IpOutput) {
    this.core = core;
    this.tcp = tcp;
    this.udp = udp;
    this.ip = ip;
  }
}
