/**
 * Prints, as one JSON line, the devices the kernel found — disks with their
 * size, block size, read-only flag and ID; network interfaces with MAC, MTU
 * and link — and 32 bytes from the kernel's random generator with its source.
 */
import { blockDevices, getRandomValues, netDevices, randomSource } from '@osv-ts/kernel';

export async function main(): Promise<number> {
  const blocks = [];
  for (const b of blockDevices()) blocks.push({ name: b.name, size: b.size, blockSize: b.blockSize, readOnly: b.readOnly, id: await b.id() });
  const nets = netDevices().map((n) => ({ name: n.name, mac: Array.from(n.mac, (x) => x.toString(16).padStart(2, '0')).join(':'), mtu: n.mtu, linkUp: n.linkUp }));
  const random = Array.from(getRandomValues(new Uint8Array(32)), (x) => x.toString(16).padStart(2, '0')).join('');
  console.log(JSON.stringify({ blocks, nets, random, randomSource: randomSource() }));
  return 0;
}
