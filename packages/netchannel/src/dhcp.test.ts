/// <reference types="node" />
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DhcpClient } from './dhcpClient.js';
import { DhcpServer } from './dhcpServer.js';
import { seededEntropy } from './entropy.js';
import { impairLink } from './impairedLink.js';
import { createLinkPair } from './linkPair.js';
import { NetStack } from './netStack.js';
import { runFor, settle } from './host/simulation.js';
import { parseDhcp } from './internal/wire/dhcp.js';
import { VirtualClock } from './virtualClock.js';
import { formatIPv4 } from './address.js';

function segment(loss = 0) {
  const clock = new VirtualClock();
  const [l1, l2] = createLinkPair();
  const gw = new NetStack({ clock, timers: clock, entropy: seededEntropy(1) });
  const vm = new NetStack({ clock, timers: clock, entropy: seededEntropy(2) });
  const gwIf = gw.addInterface(loss > 0 ? impairLink(l1, { clock, timers: clock, outbound: { loss }, seed: 3 }) : l1, { address: '10.0.2.2', prefixLength: 24 });
  const vmIf = vm.addInterface(l2);
  const server = new DhcpServer(gw, gwIf, { rangeStart: '10.0.2.15', rangeEnd: '10.0.2.16', dnsServers: ['10.0.2.3'], leaseSeconds: 600 });
  server.start();
  return { clock, gw, vm, vmIf, server };
}

describe('DHCP client and server (RFC 2131)', () => {
  it('DISCOVER → OFFER → REQUEST → ACK configures the interface, and TCP then works', async () => {
    const { clock, gw, vm, vmIf } = segment();
    const client = new DhcpClient(vm, vmIf, { hostname: 'osv' });
    const lease = await settle(clock, client.start());
    expect(formatIPv4(lease.address)).toBe('10.0.2.15');
    expect(formatIPv4(lease.gateway)).toBe('10.0.2.2');
    expect(lease.prefixLength).toBe(24);
    expect(lease.dnsServers.map(formatIPv4)).toEqual(['10.0.2.3']);
    expect(client.state).toBe('BOUND');
    expect(formatIPv4(vmIf.address)).toBe('10.0.2.15');
    expect(await settle(clock, vm.ping('10.0.2.2'))).toBeGreaterThanOrEqual(0);
    expect(await settle(clock, gw.ping('10.0.2.15'))).toBeGreaterThanOrEqual(0);
  });

  it('renews at T1 by unicast, and a second client gets the next address', async () => {
    const { clock, vm, vmIf, server } = segment();
    const client = new DhcpClient(vm, vmIf);
    const first = await settle(clock, client.start());
    await runFor(clock, 301_000); // T1 = lease / 2 = 300 s
    expect(client.state).toBe('BOUND');
    expect(client.lease!.obtainedAt).toBeGreaterThan(first.obtainedAt);
    expect([...server.bindings().values()].map(formatIPv4)).toEqual(['10.0.2.15']);
  });

  it('answers a renewal for an unknown lease with NAK, and the client starts over', async () => {
    const { clock, gw, vm, vmIf, server } = segment();
    const client = new DhcpClient(vm, vmIf);
    await settle(clock, client.start());
    server.stop();
    const amnesiac = new DhcpServer(gw, gw.interfaces[1]!, { rangeStart: '10.0.2.16', rangeEnd: '10.0.2.16', leaseSeconds: 600 });
    amnesiac.start();
    await runFor(clock, 300_500); // T1: RENEWING → NAK → INIT → a new lease from the new range
    expect(client.state).toBe('BOUND');
    expect(formatIPv4(vmIf.address)).toBe('10.0.2.16');
  });

  it('falls back to INIT when the lease expires without the server', async () => {
    const { clock, vm, vmIf, server } = segment();
    const leases: (number | null)[] = [];
    const client = new DhcpClient(vm, vmIf, { onLease: (l) => leases.push(l === null ? null : l.address) });
    await settle(clock, client.start());
    server.stop();
    await runFor(clock, 601_000);
    expect(vmIf.configured).toBe(false);
    expect(client.state).toBe('SELECTING');
    server.start();
    await runFor(clock, 70_000);
    expect(client.state).toBe('BOUND');
    expect(leases).toEqual([0x0a00020f, null, 0x0a00020f]);
  });

  it('gets a lease through 40% loss thanks to retransmission with backoff', async () => {
    const { clock, vm, vmIf } = segment(0.4);
    const lease = await settle(clock, new DhcpClient(vm, vmIf).start());
    expect(lease.address).toBe(0x0a00020f);
  });

  it('times out cleanly without a server', async () => {
    const clock = new VirtualClock();
    const [l1] = createLinkPair();
    const vm = new NetStack({ clock, timers: clock, entropy: seededEntropy(2) });
    const c = new DhcpClient(vm, vm.addInterface(l1));
    await expect(settle(clock, c.start(30_000))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(c.state).toBe('STOPPED');
    expect(vm.resources()).toMatchObject({ sockets: 0, mbufsInUse: 0 });
  });

  it('the message parser survives any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (b, cookie) => {
        if (cookie && b.length > 240) b.set([99, 130, 83, 99], 236);
        if (b.length > 2) {
          b[1] = 1;
          b[2] = 6;
        }
        const m = parseDhcp(b, 0, b.length);
        return m === null || (m.type >= 0 && m.type < 256);
      }),
      { numRuns: 3000 },
    );
  });
});
