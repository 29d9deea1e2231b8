/**
 * The DNS server at the user network's DNS address: it answers the guest's
 * queries through the host's resolver (`dns.lookup`, so /etc/hosts and the
 * host's resolver configuration apply, as QEMU's slirp answers through the
 * host). A and AAAA queries get the host's addresses; other types get an
 * empty answer when the name exists and NXDOMAIN when it does not. The host
 * resolver gives no TTL, so answers carry ANSWER_TTL_S.
 *
 * Queries in flight are bounded (a flood is dropped, not queued) and each
 * has a deadline, after which it is answered SERVFAIL.
 */
import { promises as dns } from 'node:dns';
import { ipv4Bytes, ipv6Bytes } from './ipText.js';
import {
  DNS_CLASS_ANY, DNS_CLASS_IN, DNS_RCODE_NOERROR, DNS_RCODE_NOTIMP, DNS_RCODE_NXDOMAIN, DNS_RCODE_SERVFAIL, DNS_TYPE_A,
  DNS_TYPE_AAAA, encodeDnsResponse, parseDnsQuery, type DnsAnswer, type DnsQuery,
} from './netchannel.js';

/** TTL of every answer, seconds. */
export const ANSWER_TTL_S = 60;

/** Looks names up on the host. Errors carry Node's `code` (ENOTFOUND: no such name; ENODATA: no address of that family). */
export interface HostResolver {
  lookup(name: string, family: 4 | 6): Promise<string[]>;
}

/** The host's resolver through `dns.lookup` (getaddrinfo: /etc/hosts, then DNS). */
export const systemResolver: HostResolver = {
  async lookup(name, family) {
    const r = await dns.lookup(name, { family, all: true });
    return r.map((x) => x.address);
  },
};

/** Options of DnsForwarder. */
export interface DnsForwarderOptions {
  readonly resolver?: HostResolver;
  /** Queries in flight at once; more are dropped (default 64). */
  readonly maxPending?: number;
  /** Deadline of one host lookup, ms (default 5000). */
  readonly timeoutMs?: number;
}

/** A name a host could have: letters, digits, '-' and '_' in dot-separated labels. */
const HOST_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/** Answers DNS queries through a host resolver. */
export class DnsForwarder {
  private readonly resolver: HostResolver;
  private readonly maxPending: number;
  private readonly timeoutMs: number;
  private inFlight = 0;

  constructor(options: DnsForwarderOptions = {}) {
    this.resolver = options.resolver ?? systemResolver;
    this.maxPending = options.maxPending ?? 64;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Queries being looked up now. */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * The answer to the query in `msg[off, off+len)`, at most `maxLength` bytes;
   * null when it is dropped (not a query, or too many in flight). Never rejects.
   */
  answer(msg: Uint8Array, off: number, len: number, maxLength: number): Promise<Uint8Array> | null {
    const q = parseDnsQuery(msg, off, len);
    if (q === null) return null;
    if (q.rcode !== DNS_RCODE_NOERROR) return Promise.resolve(encodeDnsResponse(q, q.rcode, [], maxLength));
    if (q.qclass !== DNS_CLASS_IN && q.qclass !== DNS_CLASS_ANY) return Promise.resolve(encodeDnsResponse(q, DNS_RCODE_NOTIMP, [], maxLength));
    if (!HOST_NAME.test(q.name)) return Promise.resolve(encodeDnsResponse(q, DNS_RCODE_NXDOMAIN, [], maxLength));
    if (this.inFlight >= this.maxPending) return null;
    this.inFlight++;
    return this.resolve(q).then(
      ({ rcode, answers }) => encodeDnsResponse(q, rcode, answers, maxLength),
    ).finally(() => this.inFlight--);
  }

  /** Looks the question up; never rejects. */
  private async resolve(q: DnsQuery): Promise<{ rcode: number; answers: DnsAnswer[] }> {
    const family = q.qtype === DNS_TYPE_AAAA ? 6 : 4;
    try {
      const addresses = await this.withDeadline(this.resolver.lookup(q.name, family));
      if (q.qtype !== DNS_TYPE_A && q.qtype !== DNS_TYPE_AAAA) return { rcode: DNS_RCODE_NOERROR, answers: [] };
      const answers: DnsAnswer[] = [];
      for (const a of addresses) {
        const data = family === 4 ? ipv4Bytes(a) : ipv6Bytes(a);
        if (data !== null) answers.push({ type: q.qtype, ttl: ANSWER_TTL_S, data });
      }
      return { rcode: DNS_RCODE_NOERROR, answers };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOTFOUND') return { rcode: DNS_RCODE_NXDOMAIN, answers: [] };
      if (code === 'ENODATA') return { rcode: DNS_RCODE_NOERROR, answers: [] };
      return { rcode: DNS_RCODE_SERVFAIL, answers: [] };
    }
  }

  private withDeadline<T>(p: Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('host lookup timed out')), this.timeoutMs);
      t.unref();
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  }
}
