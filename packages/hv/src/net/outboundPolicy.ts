/**
 * Where the user backend lets the guest connect on the host. The guest sees
 * the gateway address as the host's loopback (QEMU does the same: 10.0.2.2
 * is the host's 127.0.0.1); every other destination is itself. A policy then
 * decides on the host address: by default only 127.0.0.0/8, because the
 * guest's traffic must not leave this machine unless its owner says so.
 */
import { formatIPv4 } from './netchannel.js';

/** Decides whether the guest may reach `hostAddress:port` over `protocol`. */
export type OutboundPolicy = (hostAddress: string, port: number, protocol: 'tcp' | 'udp') => boolean;

/** The default policy: the host's loopback addresses only. */
export const loopbackOnly: OutboundPolicy = (hostAddress) => hostAddress.startsWith('127.');

/** The policy of `restrict=on`: nothing. */
export const nothingOutbound: OutboundPolicy = () => false;

/** The host address the guest means by `dest`: the gateway stands for the host's 127.0.0.1. */
export function hostAddressFor(dest: number, gateway: number): string {
  return dest === gateway ? '127.0.0.1' : formatIPv4(dest);
}
