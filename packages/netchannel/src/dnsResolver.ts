/**
 * A DNS stub resolver (RFC 1035 §7; RFC 1123 §6.1.3): A queries over UDP to
 * the configured servers in turn, retried on timeout, falling back to TCP when
 * an answer is truncated, CNAME chains followed, answers cached by TTL.
 * Responses are accepted only from the server queried, on port 53, with the
 * query's id and question (RFC 5452 §9.1), so off-path forgery needs the id
 * and the random source port.
 */
import { parseIPv4, toIPv4 } from './address.js';
import { NetError } from './errors.js';
import type { NetStack } from './netStack.js';
import type { SockAddr } from './socketOptions.js';
import {
  addressesFor, DNS_PORT, DNS_QR, DNS_RCODE_MASK, DNS_RCODE_NOERROR, DNS_RCODE_NXDOMAIN, DNS_TC, DNS_TYPE_A, encodeQuery,
  parseResponse, type DnsResponse,
} from './internal/wire/dns.js';

/** Options of DnsResolver. */
export interface DnsResolverOptions {
  /** Name servers, tried in order. */
  readonly servers: readonly (number | string)[];
  /** Time to wait for one answer, ms (default 2000). */
  readonly timeoutMs?: number;
  /** Rounds over all servers (default 2). */
  readonly attempts?: number;
  /** Most names cached (default 256). */
  readonly cacheSize?: number;
}

interface CacheEntry {
  addresses: number[];
  expires: number;
}

type Outcome = { kind: 'answer'; r: DnsResponse } | { kind: 'timeout' } | { kind: 'error'; e: NetError };

/** A stub resolver on a stack. */
export class DnsResolver {
  private readonly stack: NetStack;
  private servers: number[];
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(stack: NetStack, options: DnsResolverOptions) {
    this.stack = stack;
    this.servers = options.servers.map(toIPv4);
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.attempts = options.attempts ?? 2;
    this.cacheSize = options.cacheSize ?? 256;
  }

  /** Replaces the server list (after DHCP). */
  setServers(servers: readonly (number | string)[]): void {
    this.servers = servers.map(toIPv4);
  }

  /** Forgets cached answers. */
  clearCache(): void {
    this.cache.clear();
  }

  /**
   * The IPv4 addresses of `name` (a dotted-quad literal resolves to itself).
   * Throws NetError ENOENT when the name does not exist or has no A record,
   * ETIMEDOUT when no server answers, EIO when servers fail, EINVAL for a bad name.
   */
  async resolve4(name: string): Promise<number[]> {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return [parseIPv4(name)];
    const key = name.toLowerCase().replace(/\.$/, ''); // as the codec spells names: no final dot
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.expires > this.stack.now()) return hit.addresses;
    if (this.servers.length === 0) throw new NetError('ENETUNREACH', `resolve ${name}: no DNS server configured`);
    let lastError: NetError = new NetError('ETIMEDOUT', `resolve ${name}: no answer from ${this.servers.length} server(s)`);
    for (let round = 0; round < this.attempts; round++) {
      for (const server of this.servers) {
        const id = this.stack.random32() & 0xffff;
        const q = encodeQuery(id, name.replace(/\.$/, ''), DNS_TYPE_A);
        if (q === null) throw new NetError('EINVAL', `resolve: '${name}' is not a domain name`);
        let out = await this.queryUdp(server, q, id, key);
        if (out.kind === 'answer' && (out.r.flags & DNS_TC) !== 0) out = await this.queryTcp(server, q, id, key);
        if (out.kind === 'timeout') continue;
        if (out.kind === 'error') {
          lastError = out.e;
          continue;
        }
        const rcode = out.r.flags & DNS_RCODE_MASK;
        if (rcode === DNS_RCODE_NXDOMAIN) throw new NetError('ENOENT', `resolve ${name}: no such name`);
        if (rcode !== DNS_RCODE_NOERROR) {
          lastError = new NetError('EIO', `resolve ${name}: server ${server >>> 24}.${(server >>> 16) & 255}.${(server >>> 8) & 255}.${server & 255} answered rcode ${rcode}`);
          continue;
        }
        const { addresses, ttl } = addressesFor(out.r, key);
        if (addresses.length === 0) throw new NetError('ENOENT', `resolve ${name}: no IPv4 address`);
        this.remember(key, addresses, ttl);
        return addresses;
      }
    }
    throw lastError;
  }

  private remember(key: string, addresses: number[], ttlSeconds: number): void {
    if (ttlSeconds <= 0) return;
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, { addresses, expires: this.stack.now() + ttlSeconds * 1000 });
  }

  private matches(r: DnsResponse, id: number, key: string): boolean {
    return r.id === id && (r.flags & DNS_QR) !== 0 && r.question === key && r.qtype === DNS_TYPE_A;
  }

  private queryUdp(server: number, q: Uint8Array, id: number, key: string): Promise<Outcome> {
    const s = this.stack.udpSocket();
    return new Promise<Outcome>((resolve) => {
      let done = false;
      const finish = (o: Outcome): void => {
        if (done) return;
        done = true;
        cancel();
        s.close();
        resolve(o);
      };
      const cancel = this.stack.schedule(this.timeoutMs, () => finish({ kind: 'timeout' }));
      const buf = new Uint8Array(1500);
      const from: SockAddr = { address: 0, port: 0 };
      s.watch(() => {
        for (let n = s.tryRecvFrom(buf, 0, buf.length, from); n !== -11 && !done; n = s.tryRecvFrom(buf, 0, buf.length, from)) {
          if (n < 0) return finish({ kind: 'error', e: NetError.fromErrno(n, 'dns query') });
          if (from.address !== server || from.port !== DNS_PORT) continue;
          const r = parseResponse(buf, 0, n);
          if (r !== null && this.matches(r, id, key)) finish({ kind: 'answer', r });
        }
      });
      const sent = s.sendTo(q, server, DNS_PORT);
      if (sent < 0) finish({ kind: 'error', e: NetError.fromErrno(sent, 'dns query') });
    });
  }

  /** RFC 1035 §4.2.2: the query with a two-byte length prefix over a TCP connection. */
  private async queryTcp(server: number, q: Uint8Array, id: number, key: string): Promise<Outcome> {
    const s = this.stack.tcpSocket();
    const cancel = this.stack.schedule(this.timeoutMs * 2, () => s.abort());
    try {
      await s.connect(server, DNS_PORT);
      const msg = new Uint8Array(q.length + 2);
      msg[0] = q.length >>> 8;
      msg[1] = q.length & 255;
      msg.set(q, 2);
      await s.write(msg);
      const buf = new Uint8Array(65537);
      let have = 0;
      for (;;) {
        const n = await s.read(buf, have);
        if (n === 0) break;
        have += n;
        if (have >= 2 && have >= 2 + ((buf[0]! << 8) | buf[1]!)) break;
      }
      const len = have >= 2 ? (buf[0]! << 8) | buf[1]! : 0;
      const r = have >= 2 + len ? parseResponse(buf, 2, len) : null;
      return r !== null && this.matches(r, id, key) ? { kind: 'answer', r } : { kind: 'error', e: new NetError('EIO', 'dns over tcp: bad answer') };
    } catch (e) {
      return { kind: 'error', e: e instanceof NetError ? e : new NetError('EIO', 'dns over tcp failed', { cause: e }) };
    } finally {
      cancel();
      void s.close();
    }
  }
}
