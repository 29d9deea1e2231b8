/**
 * The user backend driven by a guest-side netchannel stack (no VM), against
 * real host peers on 127.0.0.1: node:net and node:dgram servers and the
 * host's resolver.
 */
import { randomBytes, createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DhcpClient, DnsResolver, NetError, type TcpSocket } from '@osv-ts/netchannel';
import { guestStack, type GuestStack } from './guestHarness.js';
import { UserNetBackend, type UserNetBackendOptions } from './userNetBackend.js';

const GUEST = '10.0.2.15';
const GATEWAY = '10.0.2.2';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function userNet(options: UserNetBackendOptions = {}): Promise<{ backend: UserNetBackend; guest: GuestStack }> {
  const backend = await UserNetBackend.open(options);
  cleanups.push(() => backend.close());
  const guest = guestStack(backend, { address: GUEST, gateway: GATEWAY });
  return { backend, guest };
}

function listen(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const open = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true }, (s) => {
      open.add(s);
      s.on('close', () => open.delete(s));
      onConnection(s);
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
    cleanups.push(() => {
      for (const s of open) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    });
  });
}

/** Reads until end of stream. */
async function readAll(s: TcpSocket): Promise<Buffer> {
  const parts: Buffer[] = [];
  const buf = new Uint8Array(65536);
  for (let n = await s.read(buf); n > 0; n = await s.read(buf)) parts.push(Buffer.from(buf.subarray(0, n)));
  return Buffer.concat(parts);
}

/** Polls `check` on the event loop until it holds (the event, not a duration, is what is tested). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('user backend: the segment', () => {
  it('hands out 10.0.2.15 by DHCP with router 10.0.2.2 and DNS 10.0.2.3', async () => {
    const backend = await UserNetBackend.open();
    cleanups.push(() => backend.close());
    const guest = guestStack(backend);
    const dhcp = new DhcpClient(guest.stack, guest.iface);
    cleanups.push(() => dhcp.stop());
    const lease = await dhcp.start(10_000);
    expect(lease.address).toBe(0x0a00020f);
    expect(lease.gateway).toBe(0x0a000202);
    expect(lease.dnsServers).toEqual([0x0a000203]);
    expect(lease.prefixLength).toBe(24);
  });

  it('answers pings to the gateway and to the DNS address', async () => {
    const { guest } = await userNet();
    await expect(guest.stack.ping(GATEWAY, { timeoutMs: 5000 })).resolves.toBeGreaterThanOrEqual(0);
    await expect(guest.stack.ping('10.0.2.3', { timeoutMs: 5000 })).resolves.toBeGreaterThanOrEqual(0);
  });

  it('holds frames while the device is paused and delivers them on resume', async () => {
    const { backend, guest } = await userNet();
    backend.pause();
    const before = guest.link.framesIn;
    const ping = guest.stack.ping(GATEWAY, { timeoutMs: 5000 });
    await until(() => backend.resources().heldFrames > 0);
    expect(guest.link.framesIn).toBe(before);
    backend.resume();
    await expect(ping).resolves.toBeGreaterThanOrEqual(0);
  });
});

describe('user backend: outbound TCP', () => {
  it('echoes 1 MiB both ways through 10.0.2.2 to a host server on 127.0.0.1', async () => {
    const { backend, guest } = await userNet();
    const { port } = await listen((s) => s.pipe(s));
    const s = guest.stack.tcpSocket();
    await s.connect(GATEWAY, port);
    const data = randomBytes(1024 * 1024);
    const reading = readAll(s);
    await s.write(data);
    s.shutdown(1);
    const echoed = await reading;
    expect(echoed.length).toBe(data.length);
    expect(sha(echoed)).toBe(sha(data));
    await s.close();
    await until(() => backend.resources().tcpFlows === 0 && backend.resources().hostSockets === 0);
  });

  it('a refused host connection reaches the guest as a reset (ECONNREFUSED)', async () => {
    const { backend, guest } = await userNet();
    const { server, port } = await listen(() => {});
    await new Promise<void>((r) => server.close(() => r()));
    const s = guest.stack.tcpSocket();
    await expect(s.connect(GATEWAY, port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await until(() => backend.resources().tcpFlowsHeld === 0);
  });

  it('the host closing its side reaches the guest as FIN, after the data', async () => {
    const { backend, guest } = await userNet();
    const { port } = await listen((s) => s.end('goodbye'));
    const s = guest.stack.tcpSocket();
    await s.connect(GATEWAY, port);
    expect((await readAll(s)).toString()).toBe('goodbye');
    await s.close();
    await until(() => backend.resources().tcpFlows === 0);
  });

  it('a host reset reaches the guest as ECONNRESET', async () => {
    const { guest } = await userNet();
    const { port } = await listen((s) => s.once('data', () => s.resetAndDestroy()));
    const s = guest.stack.tcpSocket();
    await s.connect(GATEWAY, port);
    await s.write(Buffer.from('hello'));
    await expect(readAll(s)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('a guest reset reaches the host as ECONNRESET', async () => {
    const { guest } = await userNet();
    let hostSide!: Socket;
    const errored = new Promise<string | undefined>((resolve) => {
      void listen((s) => {
        hostSide = s;
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
        s.on('close', () => resolve(undefined));
      }).then(async ({ port }) => {
        const s = guest.stack.tcpSocket();
        await s.connect(GATEWAY, port);
        await until(() => hostSide !== undefined);
        s.abort();
      });
    });
    expect(await errored).toBe('ECONNRESET');
  });

  it('refuses destinations outside the outbound policy, and everything with restrict=on', async () => {
    const logged: string[] = [];
    const { guest } = await userNet({ log: (m) => logged.push(m) });
    await expect(guest.stack.tcpSocket().connect('192.0.2.1', 80)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(guest.stack.tcpSocket().connect('192.0.2.1', 81)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(logged).toEqual([expect.stringContaining('tcp to 192.0.2.1:80 was refused by the outbound policy')]);
    const { port } = await listen((s) => s.end());
    const restricted = await userNet({ net: 'user,restrict=on' });
    await expect(restricted.guest.stack.tcpSocket().connect(GATEWAY, port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('slows the guest down when the host does not read (backpressure), and loses nothing', async () => {
    const { guest } = await userNet();
    let host!: Socket;
    const { port } = await listen((s) => {
      host = s;
      s.pause();
    });
    const s = guest.stack.tcpSocket();
    await s.connect(GATEWAY, port);
    const data = randomBytes(4 * 1024 * 1024);
    let written = 0;
    for (let n = s.tryWrite(data); n > 0; n = s.tryWrite(data, written)) written += n;
    // The guest's send buffer filled: the proxy stopped reading when the host socket's buffer was full.
    await until(() => s.tryWrite(data, written, 1) === -11 && host !== undefined);
    const got: Buffer[] = [];
    host.on('data', (d: Buffer) => got.push(d));
    const ended = new Promise((r) => host.on('end', r));
    host.resume();
    await s.write(data, written);
    s.shutdown(1);
    await ended;
    expect(sha(Buffer.concat(got))).toBe(sha(data));
  });
});

describe('user backend: UDP and DNS', () => {
  it('relays UDP to a host dgram echo server and back', async () => {
    const { backend, guest } = await userNet();
    const server = createSocket('udp4');
    server.on('message', (m, r) => server.send(m, r.port, r.address));
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const u = guest.stack.udpSocket();
    const payload = randomBytes(3000); // fragmented on the guest's wire both ways
    expect(u.sendTo(payload, GATEWAY, server.address().port)).toBe(payload.length);
    const buf = new Uint8Array(4096);
    const d = await u.recvFrom(buf);
    expect(d.address).toBe(0x0a000202);
    expect(d.port).toBe(server.address().port);
    expect(sha(buf.subarray(0, d.bytes))).toBe(sha(payload));
    expect(backend.resources().udpFlows).toBe(1);
    u.close();
  });

  it('resolves localhost through 10.0.2.3 with the host resolver', async () => {
    const { guest } = await userNet();
    const r = new DnsResolver(guest.stack, { servers: ['10.0.2.3'], timeoutMs: 5000 });
    expect(await r.resolve4('localhost')).toEqual([0x7f000001]);
  });

  it('answers NXDOMAIN, and falls back to TCP when the answer does not fit 512 bytes', async () => {
    const many = Array.from({ length: 60 }, (_, i) => `10.1.0.${i + 1}`);
    const { backend, guest } = await userNet({
      resolver: {
        lookup: (name) => (name === 'many.test' ? Promise.resolve(many) : Promise.reject(Object.assign(new Error('no'), { code: 'ENOTFOUND' }))),
      },
    });
    const r = new DnsResolver(guest.stack, { servers: ['10.0.2.3'], timeoutMs: 5000 });
    await expect(r.resolve4('missing.test')).rejects.toMatchObject({ code: 'ENOENT' });
    const got = await r.resolve4('many.test');
    expect(got.length).toBe(60);
    expect(got[59]).toBe(0x0a01003c);
    await until(() => backend.resources().tcpFlows === 0);
  });
});

describe('user backend: hostfwd', () => {
  it('forwards a host TCP port to an echo server on the guest', async () => {
    const { backend, guest } = await userNet({ net: 'user,hostfwd=tcp:127.0.0.1:0-:7000' });
    const l = guest.stack.tcpSocket();
    l.bind(0, 7000);
    l.listen();
    void (async () => {
      const c = await l.accept();
      const buf = new Uint8Array(65536);
      for (let n = await c.read(buf); n > 0; n = await c.read(buf)) await c.write(buf, 0, n);
      await c.close();
    })();
    const port = backend.forwards()[0]!.boundPort;
    const data = randomBytes(256 * 1024);
    const echoed = await new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      const c = connect(port, '127.0.0.1', () => c.end(data));
      c.on('data', (d: Buffer) => parts.push(d));
      c.on('end', () => resolve(Buffer.concat(parts)));
      c.on('error', reject);
    });
    expect(sha(echoed)).toBe(sha(data));
    await l.close();
  });

  it('resets the host connection when nothing listens on the guest port', async () => {
    const { backend } = await userNet({ net: 'user,hostfwd=tcp::0-:7001' });
    const port = backend.forwards()[0]!.boundPort;
    const outcome = await new Promise<string>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      c.on('close', () => resolve('closed'));
    });
    expect(outcome).toBe('ECONNRESET');
  });

  it('forwards a host UDP port to a UDP echo server on the guest', async () => {
    const { backend, guest } = await userNet({ net: 'user,hostfwd=udp::0-:5353' });
    const u = guest.stack.udpSocket();
    u.bind(0, 5353);
    u.watch(() => {
      const buf = new Uint8Array(2048);
      const from = { address: 0, port: 0 };
      for (let n = u.tryRecvFrom(buf, 0, buf.length, from); n >= 0; n = u.tryRecvFrom(buf, 0, buf.length, from)) u.sendTo(buf, from.address, from.port, 0, n);
    });
    const port = backend.forwards()[0]!.boundPort;
    const client = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
    const reply = new Promise<Buffer>((r) => client.once('message', r));
    client.send(Buffer.from('ping over hostfwd'), port, '127.0.0.1');
    expect((await reply).toString()).toBe('ping over hostfwd');
    expect(backend.resources().forwarded).toBe(1);
  });

  it('refuses a host port that is already taken, naming it', async () => {
    const { port } = await listen(() => {});
    await expect(UserNetBackend.open({ net: `user,hostfwd=tcp::${port}-:80` })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});

describe('user backend: close', () => {
  it('resets open connections and releases host sockets and listeners', async () => {
    const { backend, guest } = await userNet({ net: 'user,hostfwd=tcp::0-:7002' });
    const { port } = await listen(() => {});
    const s = guest.stack.tcpSocket();
    await s.connect(GATEWAY, port);
    expect(backend.resources().hostSockets).toBe(1);
    const fwdPort = backend.forwards()[0]!.boundPort;
    await backend.close();
    expect(backend.resources().hostSockets).toBe(0);
    expect(backend.linkUp).toBe(false);
    expect(backend.send(new Uint8Array(60), 0, 60)).toBe(false);
    await expect(readAll(s)).rejects.toBeInstanceOf(NetError);
    const refused = await new Promise<string>((resolve) => {
      const c = connect(fwdPort, '127.0.0.1');
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      c.on('connect', () => resolve('connected'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});
