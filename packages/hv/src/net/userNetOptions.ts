/**
 * `--net user[,OPTION...]`: the options of the user-mode network, in QEMU's
 * spelling (`-netdev user,...`):
 *
 *   net=ADDR[/PREFIX]     the guest subnet (default 10.0.2.0/24)
 *   host=ADDR             the gateway's address (default: .2 of the subnet)
 *   dns=ADDR              the DNS server's address (default: .3)
 *   dhcpstart=ADDR        the first address DHCP hands out (default: .15)
 *   restrict=on|off       on: the guest reaches nothing outside (hostfwd still works)
 *   hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT   (repeatable)
 *
 * HOSTADDR defaults to 127.0.0.1, GUESTADDR to the DHCP start address;
 * HOSTPORT 0 takes any free port (UserNetBackend.forwards() tells which).
 * QEMU options this backend does not implement (guestfwd, smb, tftp, ...) are
 * refused by name rather than ignored.
 */
import { HvError } from '../errors.js';
import { formatIPv4, parseIPv4 } from './netchannel.js';

/** One `hostfwd=` rule. */
export interface HostForward {
  readonly protocol: 'tcp' | 'udp';
  /** Host address to listen on (dotted quad). */
  readonly hostAddress: string;
  /** Host port (0: any free port). */
  readonly hostPort: number;
  /** Guest address to connect to. */
  readonly guestAddress: number;
  readonly guestPort: number;
}

/** Parsed `--net user` options; addresses are numbers (10.0.2.2 is 0x0a000202). */
export interface UserNetOptions {
  readonly network: number;
  readonly prefixLength: number;
  readonly gateway: number;
  readonly dns: number;
  readonly dhcpStart: number;
  readonly restrict: boolean;
  readonly hostForwards: readonly HostForward[];
}

/** QEMU's defaults. */
export const DEFAULT_USER_NET: UserNetOptions = Object.freeze({
  network: 0x0a000200,
  prefixLength: 24,
  gateway: 0x0a000202,
  dns: 0x0a000203,
  dhcpStart: 0x0a00020f,
  restrict: false,
  hostForwards: Object.freeze([]),
});

/** QEMU `-netdev user` options this backend does not implement. */
const UNSUPPORTED = ['guestfwd', 'smb', 'smbserver', 'tftp', 'tftp-server-name', 'bootfile', 'hostname', 'domainname', 'dnssearch', 'ipv6', 'ipv6-net', 'ipv6-host', 'ipv6-dns', 'ipv6-prefix', 'ipv6-prefixlen', 'vnameserver', 'vhostname'];

/**
 * Parses the options of `--net user`: either the whole value ("user,hostfwd=...")
 * or just the comma-separated options after "user".
 * @throws HvError BAD_OPTION naming the bad part; NOT_SUPPORTED for QEMU options this backend does not implement yet
 */
export function parseUserNetOptions(text: string): UserNetOptions {
  const parts = text.split(',').filter((p, i) => !(i === 0 && p === 'user'));
  const raw: Record<string, string> = {};
  const forwards: string[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 'hostfwd') forwards.push(value);
    else if (key === 'ipv4' && value === 'on') continue;
    else if (key === 'ipv6' && value === 'off') continue;
    else if (UNSUPPORTED.includes(key) || key === 'ipv4') throw notSupported(text, part);
    else if (['net', 'host', 'dns', 'dhcpstart', 'restrict'].includes(key) && value !== '') raw[key] = value;
    else throw bad(text, part, 'unknown or incomplete option (known: net=, host=, dns=, dhcpstart=, restrict=, hostfwd=)');
  }
  const { network, prefixLength } = parseNet(text, raw['net']);
  const inNet = (key: string, fallback: number): number => subnetAddress(text, key, raw[key], fallback, network, prefixLength);
  const gateway = inNet('host', network + 2);
  const dns = inNet('dns', network + 3);
  const dhcpStart = inNet('dhcpstart', network + 15);
  if (new Set([gateway, dns, dhcpStart]).size !== 3) throw bad(text, `host=${formatIPv4(gateway)}`, 'host=, dns= and dhcpstart= must be three different addresses');
  const restrict = parseSwitch(text, raw['restrict']);
  const hostForwards = forwards.map((f) => parseHostForward(text, f, dhcpStart, network, prefixLength));
  return { network, prefixLength, gateway, dns, dhcpStart, restrict, hostForwards };
}

/** Parses one `hostfwd=` value (without the key). */
function parseHostForward(text: string, value: string, defaultGuest: number, network: number, prefixLength: number): HostForward {
  const part = `hostfwd=${value}`;
  const m = /^(?:(tcp|udp)?:)?([^:-]*):([^:-]*)-([^:-]*):([^:-]*)$/.exec(value);
  if (m === null) throw bad(text, part, 'write it as [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT');
  const protocol = (m[1] ?? 'tcp') as 'tcp' | 'udp';
  const hostAddress = m[2] === '' ? '127.0.0.1' : formatIPv4(address(text, part, m[2]!));
  const hostPort = port(text, part, m[3]!, 'host', true);
  const guestAddress = m[4] === '' ? defaultGuest : address(text, part, m[4]!);
  if (!inSubnet(guestAddress, network, prefixLength)) throw bad(text, part, `guest address ${formatIPv4(guestAddress)} is outside the guest network`);
  const guestPort = port(text, part, m[5]!, 'guest', false);
  return { protocol, hostAddress, hostPort, guestAddress, guestPort };
}

function parseNet(text: string, value: string | undefined): { network: number; prefixLength: number } {
  if (value === undefined) return { network: DEFAULT_USER_NET.network, prefixLength: DEFAULT_USER_NET.prefixLength };
  const [a, p] = value.split('/');
  const prefixLength = p === undefined ? 24 : /^\d{1,2}$/.test(p) ? Number(p) : -1;
  if (prefixLength < 8 || prefixLength > 30) throw bad(text, `net=${value}`, 'the prefix length must be 8..30');
  const mask = (0xffffffff << (32 - prefixLength)) >>> 0;
  return { network: (address(text, `net=${value}`, a!) & mask) >>> 0, prefixLength };
}

function subnetAddress(text: string, key: string, value: string | undefined, fallback: number, network: number, prefixLength: number): number {
  const a = value === undefined ? fallback : address(text, `${key}=${value}`, value);
  if (!inSubnet(a, network, prefixLength)) throw bad(text, `${key}=${formatIPv4(a)}`, `${formatIPv4(a)} is not a host address of ${formatIPv4(network)}/${prefixLength}`);
  return a;
}

/** True for a host address (not the network or broadcast address) of the subnet. */
function inSubnet(a: number, network: number, prefixLength: number): boolean {
  const mask = (0xffffffff << (32 - prefixLength)) >>> 0;
  const host = a & ~mask;
  return ((a & mask) >>> 0) === network && host !== 0 && host !== (~mask >>> 0);
}

function parseSwitch(text: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (['on', 'yes', 'y'].includes(value)) return true;
  if (['off', 'no', 'n'].includes(value)) return false;
  throw bad(text, `restrict=${value}`, 'use on or off');
}

function address(text: string, part: string, value: string): number {
  try {
    return parseIPv4(value);
  } catch (e) {
    throw new HvError('BAD_OPTION', `--net ${text}: '${part}': '${value}' is not an IPv4 address (write it like 10.0.2.15)`, { cause: e });
  }
}

function port(text: string, part: string, value: string, which: string, zeroOk: boolean): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : -1;
  if (n < (zeroOk ? 0 : 1) || n > 65535) throw bad(text, part, `${which} port '${value}' is not a number ${zeroOk ? 0 : 1}..65535`);
  return n;
}

function bad(text: string, part: string, why: string): HvError {
  return new HvError('BAD_OPTION', `--net ${text}: '${part}': ${why}`);
}

/** The error for a QEMU option this backend does not implement yet: HvError NOT_SUPPORTED, naming it. */
export function notSupported(text: string, part: string): HvError {
  return new HvError('NOT_SUPPORTED', `--net ${text}: '${part}' is not supported yet by the user backend`);
}
