/**
 * The public face of an interface: its addresses and configuration, and the
 * zero-copy input a driver uses when it received straight into the stack's
 * mbufs. The stack installs itself as the link's receiver.
 */
import { formatIPv4, prefixToMask, toIPv4 } from './address.js';
import { NetError } from './errors.js';
import type { Netif } from './internal/netif.js';

/** IPv4 configuration of an interface. */
export interface InterfaceConfig {
  /** Address (dotted text or number). */
  readonly address: number | string;
  /** Subnet prefix length (default 24). */
  readonly prefixLength?: number;
  /** Default gateway, or omitted for none. */
  readonly gateway?: number | string;
}

/** An interface of a NetStack: the loopback, or one per attached Link. */
export class NetInterface {
  /** @internal */
  readonly nif: Netif;

  /** @internal Made by NetStack. */
  constructor(nif: Netif) {
    this.nif = nif;
  }

  /** Name: "lo" or "eth0", "eth1"... */
  get name(): string {
    return this.nif.name;
  }

  /** MAC address (6 bytes; zeros for loopback). */
  get mac(): Uint8Array {
    return this.nif.mac;
  }

  /** MTU, bytes. */
  get mtu(): number {
    return this.nif.mtu;
  }

  /** IPv4 address as a number (0 while unconfigured). */
  get address(): number {
    return this.nif.address;
  }

  /** Netmask as a number. */
  get netmask(): number {
    return this.nif.netmask;
  }

  /** Default gateway (0: none). */
  get gateway(): number {
    return this.nif.gateway;
  }

  /** True once configured with an address. */
  get configured(): boolean {
    return this.nif.address !== 0;
  }

  /** Sets address, prefix and gateway, and forgets learned neighbours. Throws NetError EINVAL on bad values or for loopback. */
  configure(config: InterfaceConfig): void {
    if (this.nif.link === null) throw new NetError('EINVAL', 'the loopback interface is fixed at 127.0.0.1/8');
    const address = toIPv4(config.address);
    const mask = prefixToMask(config.prefixLength ?? 24);
    const gateway = config.gateway === undefined ? 0 : toIPv4(config.gateway);
    if (address === 0) throw new NetError('EINVAL', 'configure: address 0.0.0.0 — use unconfigure()');
    if (gateway !== 0 && ((gateway ^ address) & mask) !== 0) {
      throw new NetError('EINVAL', `configure: gateway ${formatIPv4(gateway)} is not on ${formatIPv4(address)}'s subnet`);
    }
    this.nif.address = address;
    this.nif.netmask = mask;
    this.nif.gateway = gateway;
    this.nif.arp?.flush();
  }

  /** Removes the IPv4 configuration (the interface then accepts broadcasts, as DHCP needs). */
  unconfigure(): void {
    if (this.nif.link === null) return;
    this.nif.address = 0;
    this.nif.netmask = 0;
    this.nif.gateway = 0;
    this.nif.arp?.flush();
  }

  /**
   * Zero-copy receive: mbuf `m` of the stack's pool holds a whole Ethernet
   * frame in its data window (the driver set it with pool.setData). The stack
   * owns `m` from here on.
   */
  inputMbuf(m: number): void {
    this.nif.inputMbuf(m);
  }

  /** The neighbour's MAC from the ARP cache, or null. */
  neighbour(address: number | string): Uint8Array | null {
    return this.nif.arp?.lookup(toIPv4(address)) ?? null;
  }
}
