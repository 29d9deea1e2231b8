/**
 * netecho's TCP_STREAM modes (what bench/guestNetperf.bench.ts times), with
 * small sizes and no timing: each moves exactly the bytes it was asked to,
 * every byte in order (the stream pattern, byte i is i & 0xff, checked at
 * the receiver), and exits 0 — and exits 1 when a count is wrong.
 *  - --stream-loopback: a sender and a receiver thread over the guest's
 *    loopback, net channels on and off;
 *  - --sink: a host sender through the user backend's hostfwd;
 *  - --source: the guest sending out through the user backend's NAT to a
 *    host sink at 10.0.2.2 (the host's 127.0.0.1).
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.js';
import { freePort, lastJson, testAppImage } from '../testing/testImages.js';

const img = testAppImage('netecho');
/** Not a multiple of the write size, so the last write is a short one. */
const BYTES = 1_000_000;
const WRITE = 4096;

/** Boots netecho with `cmdline` on `nets`; `printed(text)` resolves once the console shows it, `exit` with the code and output. */
async function boot(cmdline: string, nets: string[]): Promise<{ printed: (text: string) => Promise<void>; exit: Promise<{ code: number; out: string }> }> {
  const m = await Machine.boot({ image: img, cmdline, nets });
  let out = '';
  m.console.on('data', (c: Buffer) => (out += c.toString()));
  const exit = m.wait().then((e) => ({ code: e.code, out }));
  const printed = async (text: string): Promise<void> => {
    for (let i = 0; i < 500 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 20));
    if (!out.includes(text)) throw new Error(`netecho never printed ${text}:\n${out}`);
  };
  return { printed, exit };
}

/** `bytes` bytes of the stream pattern from offset 0. */
function pattern(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = i & 0xff;
  return b;
}


/** Sends `data` to 127.0.0.1:port in WRITE-byte writes, half-closes, resolves with the reply. */
function sendAndRead(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    const s = net.connect(port, '127.0.0.1', () => {
      for (let off = 0; off < data.length; off += WRITE) s.write(data.subarray(off, off + WRITE));
      s.end();
    });
    s.on('data', (d: Buffer) => (reply += d.toString()));
    s.on('end', () => resolve(reply));
    s.on('error', reject);
  });
}

/** A one-connection host sink that answers `answer(received)` and resolves with everything it received. */
async function hostSink(answer: (got: Buffer) => string): Promise<{ port: number; received: Promise<Buffer> }> {
  let done: (b: Buffer) => void = () => {};
  const received = new Promise<Buffer>((r) => (done = r));
  const srv = net.createServer((c) => {
    srv.close();
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('end', () => {
      const got = Buffer.concat(chunks);
      c.end(answer(got));
      done(got);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, received };
}

describe('netecho TCP_STREAM modes', () => {
  it.each([
    ['on', ''],
    ['off', ' --no-channels'],
  ])('--stream-loopback moves every byte between two threads, net channels %s', async (_, flag) => {
    const vm = await boot(`/netecho.js --stream-loopback ${BYTES} --write ${WRITE} --verify${flag}`, ['none']);
    const r = await vm.exit;
    expect(lastJson(r.out), r.out).toMatchObject({ stream: BYTES, write: WRITE, channels: flag === '', received: BYTES, firstBad: -1 });
    expect(r.code).toBe(0);
  });

  it('--sink counts every byte a host sender sends through hostfwd and answers the count', async () => {
    const port = await freePort();
    const vm = await boot(`/netecho.js --sink 9 --bytes ${BYTES} --verify`, [`user,hostfwd=tcp::${port}-:9`]);
    await vm.printed('"listening":9');
    expect(await sendAndRead(port, pattern(BYTES))).toBe(`${BYTES}\n`);
    const r = await vm.exit;
    expect(lastJson(r.out), r.out).toMatchObject({ sunk: BYTES, firstBad: -1 });
    expect(r.code).toBe(0);
  });

  it('--sink exits 1 when the count is not --bytes, and --verify finds a byte out of place', async () => {
    const port = await freePort();
    const vm = await boot(`/netecho.js --sink 9 --bytes ${BYTES} --verify`, [`user,hostfwd=tcp::${port}-:9`]);
    await vm.printed('"listening":9');
    const data = pattern(BYTES - 1);
    data[1234] = data[1234]! ^ 1;
    expect(await sendAndRead(port, data)).toBe(`${BYTES - 1}\n`);
    const r = await vm.exit;
    expect(lastJson(r.out), r.out).toMatchObject({ sunk: BYTES - 1, firstBad: 1234 });
    expect(r.code).toBe(1);
  });

  it('--source sends every byte through the NAT to a host sink and checks its count', async () => {
    const sink = await hostSink((got) => `${got.length}\n`);
    const vm = await boot(`/netecho.js --source 10.0.2.2:${sink.port} --bytes ${BYTES} --write ${WRITE}`, ['user']);
    const got = await sink.received;
    expect(got.length).toBe(BYTES);
    expect(got.equals(pattern(BYTES))).toBe(true);
    const r = await vm.exit;
    expect(lastJson(r.out), r.out).toMatchObject({ sent: BYTES, acked: BYTES });
    expect(r.code).toBe(0);
  });

  it('--source exits 1 when the sink answers another count', async () => {
    const sink = await hostSink((got) => `${got.length - 1}\n`);
    const vm = await boot(`/netecho.js --source 10.0.2.2:${sink.port} --bytes ${BYTES} --write ${WRITE}`, ['user']);
    expect((await sink.received).length).toBe(BYTES);
    const r = await vm.exit;
    expect(lastJson(r.out), r.out).toMatchObject({ sent: BYTES, acked: BYTES - 1 });
    expect(r.code).toBe(1);
  });
});
