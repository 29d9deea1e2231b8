/**
 * A small ARP requester and responder on eth0, at the frame level (the
 * network stack is another package's). It asks who has the gateway's IPv4
 * address, resending every --interval ms, and answers ARP requests for its
 * own address meanwhile; it stops at the gateway's reply (after --linger ms
 * more of answering) or at --timeout ms. Prints one JSON line:
 * { ok, gatewayMac, requestsSent, repliesSent, framesSeen }.
 *
 *   /arp.js --ip 10.0.2.15 --gateway 10.0.2.2 [--timeout 5000] [--interval 500] [--linger 0]
 */
import { netDevices, uptimeNs, type NetDevice } from '@osv-ts/kernel';

const ETH_P_ARP = 0x0806;
const ARP_REQUEST = 1;
const ARP_REPLY = 2;
/** Ethernet frames are padded to 60 bytes (64 with the FCS the device adds). */
const MIN_FRAME = 60;
const BROADCAST = new Uint8Array([255, 255, 255, 255, 255, 255]);

function ipv4(text: string): Uint8Array {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`arp: '${text}' is not an IPv4 address`);
  return Uint8Array.from(parts);
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** An Ethernet frame carrying an ARP packet for IPv4 over Ethernet (RFC 826). */
function arpFrame(op: number, dst: Uint8Array, sha: Uint8Array, spa: Uint8Array, tha: Uint8Array, tpa: Uint8Array): Uint8Array {
  const f = new Uint8Array(MIN_FRAME);
  const v = new DataView(f.buffer);
  f.set(dst, 0);
  f.set(sha, 6);
  v.setUint16(12, ETH_P_ARP);
  v.setUint16(14, 1); // hardware type: Ethernet
  v.setUint16(16, 0x0800); // protocol type: IPv4
  f[18] = 6;
  f[19] = 4;
  v.setUint16(20, op);
  f.set(sha, 22);
  f.set(spa, 28);
  f.set(tha, 32);
  f.set(tpa, 38);
  return f;
}

interface Arp {
  op: number;
  sha: Uint8Array;
  spa: Uint8Array;
  tpa: Uint8Array;
}

function parseArp(f: Uint8Array): Arp | null {
  if (f.length < 42) return null;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint16(12) !== ETH_P_ARP || v.getUint16(14) !== 1 || v.getUint16(16) !== 0x0800 || f[18] !== 6 || f[19] !== 4) return null;
  return { op: v.getUint16(20), sha: f.slice(22, 28), spa: f.slice(28, 32), tpa: f.slice(38, 42) };
}

function option(argv: string[], name: string, fallback?: string): string {
  const i = argv.indexOf(name);
  const v = i >= 0 ? argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`arp: ${name} is required`);
  return v;
}

export async function main(argv: string[]): Promise<number> {
  const nd: NetDevice | undefined = netDevices()[0];
  if (!nd) {
    console.log(JSON.stringify({ ok: false, error: 'no network device' }));
    return 2;
  }
  const myIp = ipv4(option(argv, '--ip'));
  const gateway = ipv4(option(argv, '--gateway'));
  const timeoutMs = Number(option(argv, '--timeout', '5000'));
  const intervalMs = Number(option(argv, '--interval', '500'));
  const lingerMs = Number(option(argv, '--linger', '0'));
  const request = arpFrame(ARP_REQUEST, BROADCAST, nd.mac, myIp, new Uint8Array(6), gateway);
  const stats = { requestsSent: 0, repliesSent: 0, framesSeen: 0, transmitErrors: 0 };
  let gatewayMac: Uint8Array | null = null;
  const start = uptimeNs();
  let stopAt = start + timeoutMs * 1e6;
  let nextRequest = start;
  for (let now = start; now < stopAt; now = uptimeNs()) {
    if (!gatewayMac && now >= nextRequest) {
      if (nd.transmit(request) === 0) stats.requestsSent++;
      else stats.transmitErrors++;
      nextRequest = now + intervalMs * 1e6;
    }
    const wait = Math.max(1, Math.min(stopAt, gatewayMac ? stopAt : nextRequest) - now) / 1e6;
    const frame = await nd.receive(wait);
    if (!frame) continue;
    stats.framesSeen++;
    const arp = parseArp(frame);
    if (!arp) continue;
    if (arp.op === ARP_REPLY && same(arp.spa, gateway) && !gatewayMac) {
      gatewayMac = arp.sha;
      stopAt = Math.min(stopAt, uptimeNs() + lingerMs * 1e6);
    } else if (arp.op === ARP_REQUEST && same(arp.tpa, myIp)) {
      if (nd.transmit(arpFrame(ARP_REPLY, arp.sha, nd.mac, myIp, arp.sha, arp.spa)) === 0) stats.repliesSent++;
    }
  }
  console.log(JSON.stringify({ ok: gatewayMac !== null, gatewayMac: gatewayMac ? hex(gatewayMac) : null, mac: hex(nd.mac), linkUp: nd.linkUp, ...stats }));
  return gatewayMac ? 0 : 1;
}
