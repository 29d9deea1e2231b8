/**
 * Where a new guest flow goes, decided the same way for TCP and UDP: flows
 * to the DNS address are the DNS service's (port 53 only), every other
 * destination is the host address the guest means (outboundPolicy.ts) if
 * the policy allows it — a refusal is reported through `denied` so the
 * backend can log it. What a refused flow becomes is the proxy's business
 * (TCP: an RST from the refuse port; UDP: the datagram is dropped).
 */
import type { DnsForwarder } from './dnsForwarder.js';
import type { NatFlow, NatTable } from './natTable.js';
import { DNS_PORT, type NetStack } from './netchannel.js';
import { hostAddressFor, type OutboundPolicy } from './outboundPolicy.js';

/** What the TCP and UDP proxies both need from their backend. */
export interface OutboundContext<F extends NatFlow> {
  readonly stack: NetStack;
  readonly flows: NatTable<F>;
  readonly gateway: number;
  readonly dns: number;
  readonly policy: OutboundPolicy;
  /** Called when the policy refuses a destination. */
  denied(hostAddress: string, port: number, protocol: 'tcp' | 'udp'): void;
  readonly dnsForwarder: DnsForwarder;
}

/** The decision for one new flow. */
export interface OutboundRoute {
  /** Who serves the flow: a host socket, or the DNS forwarder. */
  readonly service: 'host' | 'dns';
  /** The host address the guest means by its destination. */
  readonly hostAddr: string;
  /** Whether the flow may go ahead. */
  readonly allowed: boolean;
}

/** Routes a new guest flow to `dst:dport` over `protocol`; calls `ctx.denied` when the policy refuses it. */
export function routeOutbound<F extends NatFlow>(ctx: OutboundContext<F>, dst: number, dport: number, protocol: 'tcp' | 'udp'): OutboundRoute {
  const hostAddr = hostAddressFor(dst, ctx.gateway);
  if (dst === ctx.dns) return { service: 'dns', hostAddr, allowed: dport === DNS_PORT };
  const allowed = ctx.policy(hostAddr, dport, protocol);
  if (!allowed) ctx.denied(hostAddr, dport, protocol);
  return { service: 'host', hostAddr, allowed };
}
