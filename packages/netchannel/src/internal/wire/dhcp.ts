/**
 * DHCP messages (RFC 2131 §2, figure 1; options per RFC 2132): the BOOTP
 * header, the magic cookie, and a bounds-checked option parser and writer.
 * Option overload (option 52) is not honoured: sname and file stay opaque.
 */
import { get32, put16, put32 } from './bytes.js';
import { packed } from './layout.js';

/** The fixed BOOTP/DHCP header, 236 bytes, followed by the magic cookie and options. */
export const DHCP_HEADER = packed([
  ['op', 1], // BOOTREQUEST or BOOTREPLY
  ['htype', 1], // hardware type (1 = Ethernet)
  ['hlen', 1], // hardware address length (6)
  ['hops', 1],
  ['xid', 4], // transaction id, chosen by the client
  ['secs', 2],
  ['flags', 2], // DHCP_FLAG_BROADCAST
  ['ciaddr', 4], // client address when it already has one (renewing)
  ['yiaddr', 4], // "your" address, given by the server
  ['siaddr', 4], // next server (TFTP)
  ['giaddr', 4], // relay agent
  ['chaddr', 16], // client hardware address
  ['sname', 64],
  ['file', 128],
]);

/** Offset of the magic cookie (RFC 2131 §3). */
export const DHCP_COOKIE_OFFSET = DHCP_HEADER.SIZE;
/** The magic cookie 99.130.83.99. */
export const DHCP_MAGIC_COOKIE = 0x63825363;
/** Offset of the first option. */
export const DHCP_OPTIONS_OFFSET = DHCP_HEADER.SIZE + 4;
/** Server port. */
export const DHCP_SERVER_PORT = 67;
/** Client port. */
export const DHCP_CLIENT_PORT = 68;
/** op of a client message. */
export const BOOTREQUEST = 1;
/** op of a server message. */
export const BOOTREPLY = 2;
/** flags bit: answer by broadcast (RFC 2131 §4.1). */
export const DHCP_FLAG_BROADCAST = 0x8000;

/** DHCP message type (option 53, RFC 2132 §9.6): client broadcast to locate servers. */
export const DHCPDISCOVER = 1;
/** Server offer of an address. */
export const DHCPOFFER = 2;
/** Client request for the offered (or its current) address. */
export const DHCPREQUEST = 3;
/** Client: the address is already in use. */
export const DHCPDECLINE = 4;
/** Server: the lease is granted. */
export const DHCPACK = 5;
/** Server: the request is refused. */
export const DHCPNAK = 6;
/** Client gives the lease back. */
export const DHCPRELEASE = 7;
/** Client asks for configuration only. */
export const DHCPINFORM = 8;

/** Option code (RFC 2132): pad (one byte, no length). */
export const DHO_PAD = 0;
/** Subnet mask. */
export const DHO_SUBNET_MASK = 1;
/** Routers, in order of preference. */
export const DHO_ROUTERS = 3;
/** DNS servers. */
export const DHO_DOMAIN_NAME_SERVERS = 6;
/** Client host name. */
export const DHO_HOST_NAME = 12;
/** Address the client asks for. */
export const DHO_REQUESTED_ADDRESS = 50;
/** Lease time, seconds. */
export const DHO_LEASE_TIME = 51;
/** DHCP message type. */
export const DHO_MESSAGE_TYPE = 53;
/** Server identifier (its address). */
export const DHO_SERVER_IDENTIFIER = 54;
/** Options the client wants. */
export const DHO_PARAMETER_REQUEST_LIST = 55;
/** T1, seconds. */
export const DHO_RENEWAL_TIME = 58;
/** T2, seconds. */
export const DHO_REBINDING_TIME = 59;
/** Client identifier. */
export const DHO_CLIENT_IDENTIFIER = 61;
/** End of options. */
export const DHO_END = 255;

/** A parsed DHCP message: header fields and the options we use (addresses as numbers). */
export interface DhcpMessage {
  op: number;
  xid: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  chaddr: Uint8Array;
  type: number;
  serverId: number;
  requested: number;
  subnetMask: number;
  routers: number[];
  dns: number[];
  leaseSeconds: number;
  renewalSeconds: number;
  rebindingSeconds: number;
}

/** Parses `b[off, off+len)`; null when it is not a well-formed DHCP message. Never throws. */
export function parseDhcp(b: Uint8Array, off: number, len: number): DhcpMessage | null {
  if (len < DHCP_OPTIONS_OFFSET || get32(b, off + DHCP_COOKIE_OFFSET) !== DHCP_MAGIC_COOKIE) return null;
  if (b[off + DHCP_HEADER.htype.offset] !== 1 || b[off + DHCP_HEADER.hlen.offset] !== 6) return null;
  const m: DhcpMessage = {
    op: b[off]!,
    xid: get32(b, off + DHCP_HEADER.xid.offset),
    flags: (b[off + DHCP_HEADER.flags.offset]! << 8) | b[off + DHCP_HEADER.flags.offset + 1]!,
    ciaddr: get32(b, off + DHCP_HEADER.ciaddr.offset),
    yiaddr: get32(b, off + DHCP_HEADER.yiaddr.offset),
    chaddr: b.slice(off + DHCP_HEADER.chaddr.offset, off + DHCP_HEADER.chaddr.offset + 6),
    type: 0, serverId: 0, requested: 0, subnetMask: 0, routers: [], dns: [],
    leaseSeconds: 0, renewalSeconds: 0, rebindingSeconds: 0,
  };
  const end = off + len;
  let i = off + DHCP_OPTIONS_OFFSET;
  while (i < end) {
    const code = b[i]!;
    if (code === DHO_PAD) {
      i++;
      continue;
    }
    if (code === DHO_END || i + 1 >= end) break;
    const olen = b[i + 1]!;
    const v = i + 2;
    if (v + olen > end) return null;
    readOption(b, code, v, olen, m);
    i = v + olen;
  }
  return m.type === 0 ? null : m;
}

function readOption(b: Uint8Array, code: number, v: number, n: number, m: DhcpMessage): void {
  const addrs = (): number[] => {
    const out: number[] = [];
    for (let k = 0; k + 4 <= n; k += 4) out.push(get32(b, v + k));
    return out;
  };
  switch (code) {
    case DHO_MESSAGE_TYPE: if (n === 1) m.type = b[v]!; break;
    case DHO_SUBNET_MASK: if (n === 4) m.subnetMask = get32(b, v); break;
    case DHO_ROUTERS: m.routers = addrs(); break;
    case DHO_DOMAIN_NAME_SERVERS: m.dns = addrs(); break;
    case DHO_SERVER_IDENTIFIER: if (n === 4) m.serverId = get32(b, v); break;
    case DHO_REQUESTED_ADDRESS: if (n === 4) m.requested = get32(b, v); break;
    case DHO_LEASE_TIME: if (n === 4) m.leaseSeconds = get32(b, v); break;
    case DHO_RENEWAL_TIME: if (n === 4) m.renewalSeconds = get32(b, v); break;
    case DHO_REBINDING_TIME: if (n === 4) m.rebindingSeconds = get32(b, v); break;
    default: break;
  }
}

/** Builds DHCP messages into a buffer: header, cookie, then options appended in order. */
export class DhcpWriter {
  readonly buf = new Uint8Array(576);
  /** Bytes written. */
  len = DHCP_OPTIONS_OFFSET;

  /** Starts a message. */
  constructor(op: number, xid: number, chaddr: Uint8Array, flags = 0) {
    const b = this.buf;
    b[0] = op;
    b[DHCP_HEADER.htype.offset] = 1;
    b[DHCP_HEADER.hlen.offset] = 6;
    put32(b, DHCP_HEADER.xid.offset, xid);
    put16(b, DHCP_HEADER.flags.offset, flags);
    b.set(chaddr.subarray(0, 6), DHCP_HEADER.chaddr.offset);
    put32(b, DHCP_COOKIE_OFFSET, DHCP_MAGIC_COOKIE);
  }

  /** Sets a 32-bit header field (ciaddr, yiaddr, siaddr). */
  field(name: 'ciaddr' | 'yiaddr' | 'siaddr', value: number): this {
    put32(this.buf, DHCP_HEADER[name].offset, value);
    return this;
  }

  /** Appends option `code` with raw bytes. */
  option(code: number, bytes: ArrayLike<number>): this {
    this.buf[this.len++] = code;
    this.buf[this.len++] = bytes.length;
    for (let i = 0; i < bytes.length; i++) this.buf[this.len++] = bytes[i]!;
    return this;
  }

  /** Appends an option holding 32-bit values (addresses, times). */
  option32(code: number, ...values: number[]): this {
    const bytes: number[] = [];
    for (const v of values) bytes.push(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
    return this.option(code, bytes);
  }

  /** Ends the options and pads to the 300-byte BOOTP minimum; returns the message. */
  finish(): Uint8Array {
    this.buf[this.len++] = DHO_END;
    if (this.len < 300) this.len = 300;
    return this.buf.subarray(0, this.len);
  }
}
