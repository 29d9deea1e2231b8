/**
 * The stream backend against a real peer on a UNIX socket (a Node server
 * standing in for passt): frames go out length-prefixed, frames come in
 * whether the peer dribbles them a byte at a time or coalesces them, a peer
 * that stops reading makes the backend congested until it drains, and a
 * peer that goes away takes the link down.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HvError } from '../errors.js';
import type { NetBackendEvents } from './netBackend.js';
import { StreamFrameDecoder } from './streamFrameDecoder.js';
import { StreamNetBackend } from './streamNetBackend.js';

const dir = mkdtempSync(join(tmpdir(), 'osv-stream-'));
let servers: Server[] = [];
let conns: Socket[] = [];

afterEach(async () => {
  // Destroy connections first: close() waits for them, and a failed test leaves them open.
  for (const c of conns) c.destroy();
  for (const s of servers) await new Promise((r) => s.close(r));
  servers = [];
  conns = [];
});

/** A listening peer; resolves with the socket path and the accepted connection. */
async function peer(name: string): Promise<{ path: string; conn: Promise<Socket> }> {
  const path = join(dir, name);
  let accept!: (s: Socket) => void;
  const conn = new Promise<Socket>((r) => (accept = r));
  const server = createServer((s) => {
    conns.push(s);
    accept(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  return { path, conn };
}

function frame(len: number, fill: number): Uint8Array {
  const f = new Uint8Array(len).fill(fill);
  f[0] = len & 0xff;
  return f;
}

function prefixed(f: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + f.length);
  b.writeUInt32BE(f.length, 0);
  b.set(f, 4);
  return b;
}

function recorder(): { events: NetBackendEvents; frames: Uint8Array[]; links: boolean[]; writable: number } {
  const r = {
    frames: [] as Uint8Array[],
    links: [] as boolean[],
    writable: 0,
    events: {} as NetBackendEvents,
  };
  r.events = {
    frame: (d, o, l) => void r.frames.push(Uint8Array.from(d.subarray(o, o + l))),
    link: (up) => void r.links.push(up),
    writable: () => void r.writable++,
  };
  return r;
}

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

describe('StreamNetBackend (QEMU stream protocol over a UNIX socket)', () => {
  it('refuses to start without a peer, saying which socket', async () => {
    await expect(StreamNetBackend.connect(join(dir, 'nobody.sock'), () => {})).rejects.toThrow(HvError);
    await expect(StreamNetBackend.connect(join(dir, 'nobody.sock'), () => {})).rejects.toThrow(/nobody\.sock: cannot connect \(ENOENT\)/);
  });

  it('sends each frame behind a 4-byte big-endian length, a burst in one write', async () => {
    const p = await peer('send.sock');
    const b = await StreamNetBackend.connect(p.path, () => {});
    b.attach(recorder().events);
    const s = await p.conn;
    const got: Uint8Array[] = [];
    const dec = new StreamFrameDecoder(70000, (d, o, l) => void got.push(Uint8Array.from(d.subarray(o, o + l))));
    s.on('data', (c: Buffer) => dec.push(c));
    const sent = [frame(60, 1), frame(1514, 2), frame(42, 3), frame(65000, 4)];
    for (const f of sent) expect(b.send(f, 0, f.length)).toBe(true);
    b.flush();
    await until(() => got.length === sent.length, 'the peer to get every frame');
    expect(got).toEqual(sent);
    await b.close();
  });

  it('receives frames dribbled a byte at a time and frames coalesced into one write', async () => {
    const p = await peer('recv.sock');
    const b = await StreamNetBackend.connect(p.path, () => {});
    const r = recorder();
    b.attach(r.events);
    const s = await p.conn;
    const slow = prefixed(frame(300, 9));
    for (const byte of slow) {
      s.write(Uint8Array.of(byte));
      await new Promise((res) => setImmediate(res));
    }
    const many = Array.from({ length: 50 }, (_, i) => frame(60 + i * 20, i));
    s.write(Buffer.concat(many.map(prefixed)));
    await until(() => r.frames.length === 51, 'all frames');
    expect(r.frames[0]).toEqual(frame(300, 9));
    expect(r.frames.slice(1)).toEqual(many);
    await b.close();
  });

  it('becomes congested when the peer stops reading, and writable again when it drains', async () => {
    const p = await peer('slow.sock');
    const b = await StreamNetBackend.connect(p.path, () => {});
    const r = recorder();
    b.attach(r.events);
    const s = await p.conn;
    s.pause();
    const f = frame(1514, 5);
    let sent = 0;
    while (!b.congested && sent < 100_000) {
      b.send(f, 0, f.length);
      if (++sent % 64 === 0) b.flush();
    }
    b.flush();
    expect(b.congested).toBe(true);
    let received = 0;
    const dec = new StreamFrameDecoder(70000, () => void received++);
    s.on('data', (c: Buffer) => dec.push(c));
    s.resume();
    await until(() => r.writable > 0 && received === sent, 'the peer to drain');
    expect(b.congested).toBe(false);
    await b.close();
  });

  it('takes the link down when the peer closes, or speaks something else', async () => {
    for (const how of ['close', 'garbage'] as const) {
      const p = await peer(`${how}.sock`);
      const logs: string[] = [];
      const b = await StreamNetBackend.connect(p.path, (m) => logs.push(m));
      const r = recorder();
      b.attach(r.events);
      const s = await p.conn;
      if (how === 'close') s.end();
      else s.write('GET / HTTP/1.1\r\n\r\n');
      await until(() => r.links.length > 0, 'link down');
      expect(r.links).toEqual([false]);
      expect(b.linkUp).toBe(false);
      expect(b.send(frame(60, 1), 0, 60)).toBe(false);
      expect(logs.join('\n')).toMatch(how === 'close' ? /link down: the peer closed the connection/ : /link down: peer sent a frame length/);
      await b.close();
    }
  });
});
