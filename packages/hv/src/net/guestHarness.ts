/**
 * Test and benchmark fixture: a guest-side netchannel stack plugged into a
 * network backend through a BackendLink, on the host's clock — a stand-in for
 * a VM's kernel stack behind virtio-net. Not exported from the package.
 */
import type { NetBackend } from '../devices/netBackend.js';
import { BackendLink } from './backendLink.js';
import { HostClock, hostEntropy, NetStack, type NetInterface } from './netchannel.js';

/** A guest stack on a backend. */
export interface GuestStack {
  readonly stack: NetStack;
  readonly iface: NetInterface;
  readonly link: BackendLink;
}

/**
 * Builds a guest stack on `backend`. With `address` the interface is
 * configured statically (prefix 24, gateway `gateway`); without, it is left
 * for DHCP. `macLast` makes the MAC 52:54:00:12:34:xx.
 */
export function guestStack(backend: NetBackend, options: { address?: string; gateway?: string; macLast?: number } = {}): GuestStack {
  const clock = new HostClock();
  const stack = new NetStack({ clock, timers: clock, entropy: hostEntropy(), memory: { byteLength: 32 * 1024 * 1024 }, tcp: { minRtoMs: 200 } });
  const link = new BackendLink(backend, Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, options.macLast ?? 0x56));
  const iface = stack.addInterface(link, options.address === undefined ? undefined : {
    address: options.address, prefixLength: 24, ...(options.gateway === undefined ? {} : { gateway: options.gateway }),
  });
  return { stack, iface, link };
}
