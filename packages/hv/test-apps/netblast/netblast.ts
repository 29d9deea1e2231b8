/**
 * A guest→host bulk TCP stream over the kernel's network, for the
 * virtio-net offload and zero-copy checks (network.e2e.test.ts) and the
 * netOffload benchmark:
 *
 *   /netblast.js --source HOST:PORT --bytes N [--write B]
 *       connects (address from DHCP), sends N bytes (byte i is i & 0xff) in
 *       B-byte writes (default 65536), half-closes, reads the peer's reply to
 *       its end, closes; prints one JSON line:
 *       {"sent":N,"reply":"...","csumOffload":0|1,"tsoOffload":0|1,
 *        "tsoFrames":n,"tsoBytes":n,"zeroCopy":n,"copied":n,
 *        "merged":n,"rxDropped":n,"interfaceZeroCopy":0|1,"mbufsInUse":n,
 *        "postedMbufs":n}
 *
 * csumOffload, tsoOffload and the receive counters come from the first
 * network device (netDevices()[0]); tsoFrames/tsoBytes count the stack's
 * TCP super-segments (segmentation offload); mbufsInUse is the stack's pool use after the close, to
 * compare with the mbufs the driver keeps posted.
 */
import { net, netDevices } from '@osv-ts/kernel';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** close() lingers up to this long for the peer to acknowledge the last data before main returns and powers off. */
const LINGER_S = 10;

export async function main(argv: string[]): Promise<number> {
  const target = arg(argv, '--source');
  const bytes = Number(arg(argv, '--bytes') ?? 0);
  const write = Number(arg(argv, '--write') ?? 65536);
  if (!target || !(bytes > 0) || !(write > 0) || write % 256 !== 0) {
    console.error('usage: /netblast.js --source HOST:PORT --bytes N [--write B (a multiple of 256)]');
    return 2;
  }
  const n = net();
  if ((await n.configured(10_000)).length === 0) throw new Error('netblast: DHCP gave no address within 10 s');
  const [host, port] = target.split(':');
  const s = n.stack.tcpSocket();
  await s.connect(host!, Number(port));
  const buf = new Uint8Array(write);
  for (let i = 0; i < write; i++) buf[i] = i & 0xff;
  // buf repeats every 256 bytes: starting at sent % 256 keeps byte i = i & 0xff across partial writes.
  for (let sent = 0; sent < bytes; ) {
    const off = sent & 0xff;
    sent += await s.write(buf, off, Math.min(write - off, bytes - sent));
  }
  s.shutdown(1);
  let reply = '';
  const rb = new Uint8Array(256);
  for (let r = await s.read(rb); r > 0; r = await s.read(rb)) reply += String.fromCharCode(...rb.subarray(0, r));
  s.setOption('SO_LINGER', LINGER_S);
  await s.close();
  const dev = netDevices()[0]!;
  console.log(
    JSON.stringify({
      sent: bytes,
      reply,
      csumOffload: dev.txChecksumOffload ? 1 : 0,
      tsoOffload: dev.tsoMaxBytes > 0 ? 1 : 0,
      tsoFrames: n.stack.stats.tcpTsoFrames,
      tsoBytes: n.stack.stats.tcpTsoBytes,
      zeroCopy: dev.rxStats.zeroCopy,
      copied: dev.rxStats.copied,
      merged: dev.rxStats.merged,
      rxDropped: dev.rxStats.dropped,
      interfaceZeroCopy: n.interfaces[0]!.zeroCopy ? 1 : 0,
      mbufsInUse: n.stack.resources().mbufsInUse,
      postedMbufs: dev.postedMbufs,
    }),
  );
  return 0;
}
