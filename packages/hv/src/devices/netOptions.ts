/**
 * `--net none|stream:PATH[,mac=MAC][,mtu=N][,dump=FILE][,offloads=on|csum|off]`:
 * which backend a network device uses, its MAC address and MTU, an optional
 * pcap of its traffic (`--net-dump FILE` after a `--net` sets `dump` for it),
 * and whether the device offers its offloads (on, the default: transmit
 * checksum and TCP segmentation; csum: the checksum only; off: none — csum
 * and off are for comparisons, and for guests that must not see them).
 * `loss=P,dup=P,reorder=P,delay=MS,jitter=MS,rate=BITS,seed=N` impair the
 * link both ways, as netem would (devices/impairedNetBackend.ts).
 *
 *   user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]...
 *                  the built-in NAT gateway (src/net): DHCP, DNS, outbound
 *                  TCP/UDP through host sockets, inbound port forwarding
 *   switch:NAME    an in-process L2 switch shared by the Machines of one hv
 *   none           a device with no peer: link down, frames dropped
 *   stream:PATH    QEMU's stream protocol over the UNIX socket PATH (passt)
 *
 * A path containing a comma cannot be given on the command line.
 */
import { HvError } from '../errors.js';
import { IMPAIRMENT_OPTION, ImpairedNetBackend, impairs, parseImpairmentOption, type NetImpairment } from './impairedNetBackend.js';
import { parseUserNetOptions, type UserNetOptions } from '../net/userNetOptions.js';
import { UserNetBackend } from '../net/userNetBackend.js';
import { switchName, SwitchNetBackend } from '../net/switchNetBackend.js';
import type { NetBackend } from './netBackend.js';
import { DEFAULT_MTU } from './netDevice.js';
import { NoneNetBackend } from './noneNetBackend.js';
import { StreamNetBackend } from './streamNetBackend.js';

/** One network device of a machine. */
export interface NetOptions {
  /** 'user', 'switch:NAME', 'none', or 'stream:PATH'. */
  readonly backend: string;
  /** The user backend's own options (hostfwd=, net=, ...), when backend is 'user'. */
  readonly user?: UserNetOptions;
  /** MAC address "52:54:00:12:34:56" (default: that, plus the device's index in the last byte, as QEMU numbers NICs). */
  readonly mac?: string;
  /** MTU, 68..65535 (default 1500). */
  readonly mtu?: number;
  /** Write every frame sent and received to this pcap file. */
  readonly dump?: string;
  /** Impair the link both ways (`loss=`, `dup=`, `reorder=`, `delay=`, `jitter=`, `rate=`, `seed=`). */
  readonly impair?: NetImpairment;
  /** Offer the device's offloads: true (default) all, 'csum' the transmit checksum only, false none. */
  readonly offloads?: boolean | 'csum';
}

/** Suboptions of the device itself rather than of its backend. */
const DEVICE_OPTION = /^(mac|mtu|dump|offloads|loss|dup|reorder|delay|jitter|rate|seed)=/;

/** The first MAC address handed out (QEMU's): locally administered, unicast. */
const BASE_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56] as const;

/**
 * Parses a `--net` value.
 * @throws HvError BAD_OPTION naming the bad part
 */
export function parseNetSpec(spec: string): NetOptions {
  const [backend, ...parts] = spec.split(',');
  if (backend !== 'none' && backend !== 'user' && !/^stream:.+/.test(backend ?? '') && switchName(backend ?? '') === null) {
    throw new HvError('BAD_OPTION', `--net '${spec}': unknown backend '${backend ?? ''}' (known: user, switch:NAME, none, stream:PATH)`);
  }
  const out: { backend: string; user?: UserNetOptions; mac?: string; mtu?: number; dump?: string; offloads?: boolean | 'csum'; impair?: { -readonly [K in keyof NetImpairment]?: NetImpairment[K] } } = { backend: backend! };
  const deviceParts = parts.filter((p) => DEVICE_OPTION.test(p));
  if (backend === 'user') out.user = parseUserNetOptions(parts.filter((p) => !DEVICE_OPTION.test(p)).join(','));
  for (const part of backend === 'user' ? deviceParts : parts) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (key === 'mac' && value) out.mac = value;
    else if (key === 'mtu' && /^\d+$/.test(value)) out.mtu = Number(value);
    else if (key === 'dump' && value) out.dump = value;
    else if (IMPAIRMENT_OPTION.test(part)) parseImpairmentOption(spec, part, (out.impair ??= {}));
    else if (key === 'offloads' && (value === 'on' || value === 'off')) out.offloads = value === 'on';
    else if (key === 'offloads' && value === 'csum') out.offloads = 'csum';
    else throw new HvError('BAD_OPTION', `--net '${spec}': unknown or incomplete option '${part}' (known: mac=MAC, mtu=N, dump=FILE, offloads=on|csum|off, loss=P, dup=P, reorder=P, delay=MS, jitter=MS, rate=BITS, seed=N)`);
  }
  return out;
}

/**
 * The MAC address of network device `index` (0-based) as 6 bytes.
 * @throws HvError BAD_OPTION for a malformed or multicast address
 */
export function macAddress(options: NetOptions, index: number): Uint8Array {
  if (options.mac === undefined) {
    const mac = Uint8Array.from(BASE_MAC);
    mac[5] = (BASE_MAC[5] + index) & 0xff;
    return mac;
  }
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(options.mac);
  if (!m) throw new HvError('BAD_OPTION', `--net mac=${options.mac}: not a MAC address (write it like 52:54:00:12:34:56)`);
  const mac = Uint8Array.from(m.slice(1, 7).map((h) => parseInt(h, 16)));
  if ((mac[0]! & 1) !== 0) throw new HvError('BAD_OPTION', `--net mac=${options.mac}: a multicast address cannot be a NIC's (clear the lowest bit of the first byte)`);
  return mac;
}

/**
 * The MTU of a network device.
 * @throws HvError BAD_OPTION outside 68..65535
 */
export function netMtu(options: NetOptions): number {
  const mtu = options.mtu ?? DEFAULT_MTU;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new HvError('BAD_OPTION', `--net mtu=${mtu}: the MTU must be a whole number from 68 to 65535`);
  return mtu;
}

/**
 * Opens (connects) the backend of a network device.
 * @throws HvError BAD_OPTION when a stream peer does not answer
 */
export async function openNetBackend(options: NetOptions, log: (message: string) => void): Promise<NetBackend> {
  const backend = await openBareBackend(options, log);
  return impairs(options.impair) ? new ImpairedNetBackend(backend, options.impair, netMtu(options)) : backend;
}

async function openBareBackend(options: NetOptions, log: (message: string) => void): Promise<NetBackend> {
  if (options.backend === 'none') return new NoneNetBackend();
  if (options.backend.startsWith('stream:')) return StreamNetBackend.connect(options.backend.slice('stream:'.length), log);
  if (options.backend === 'user') return UserNetBackend.open({ net: options.user ?? parseUserNetOptions(''), mtu: netMtu(options), log });
  const name = switchName(options.backend);
  if (name !== null) return new SwitchNetBackend(name, netMtu(options));
  throw new HvError('BAD_OPTION', `--net ${options.backend}: unknown backend (known: user, switch:NAME, none, stream:PATH)`);
}
