/**
 * Socket constants with their Linux values, so libc can pass numbers straight
 * through: poll events, shutdown directions, and the socket options
 * netchannel implements (with their level and option numbers).
 */

/** Data to read (or a connection to accept). */
export const POLLIN = 0x001;
/** Urgent data (never reported: urgent data is delivered inline). */
export const POLLPRI = 0x002;
/** Room to write (or a connection completed). */
export const POLLOUT = 0x004;
/** An error is pending (SO_ERROR). */
export const POLLERR = 0x008;
/** Hung up: the connection is closed in both directions or failed. */
export const POLLHUP = 0x010;
/** The socket is not open. */
export const POLLNVAL = 0x020;
/** The peer shut down its sending half (Linux). */
export const POLLRDHUP = 0x2000;
/** Poller flag: report a readiness change once (edge-triggered, EPOLLET). */
export const EPOLLET = 0x80000000;
/** Poller flag: disable the registration after one report (EPOLLONESHOT). */
export const EPOLLONESHOT = 0x40000000;

/** shutdown(): stop receiving. */
export const SHUT_RD = 0;
/** shutdown(): stop sending (FIN after queued data). */
export const SHUT_WR = 1;
/** shutdown(): both. */
export const SHUT_RDWR = 2;

/** Option levels, Linux numbering. */
export const SOL_SOCKET = 1;
/** Option level of TCP options (the protocol number). */
export const SOL_TCP = 6;

/** The options netchannel implements, with Linux's level and number for each. */
export const SOCKET_OPTIONS = {
  SO_REUSEADDR: { level: SOL_SOCKET, name: 2 },
  SO_ERROR: { level: SOL_SOCKET, name: 4 },
  SO_BROADCAST: { level: SOL_SOCKET, name: 6 },
  SO_SNDBUF: { level: SOL_SOCKET, name: 7 },
  SO_RCVBUF: { level: SOL_SOCKET, name: 8 },
  SO_KEEPALIVE: { level: SOL_SOCKET, name: 9 },
  SO_LINGER: { level: SOL_SOCKET, name: 13 },
  TCP_NODELAY: { level: SOL_TCP, name: 1 },
  TCP_MAXSEG: { level: SOL_TCP, name: 2 },
  TCP_KEEPIDLE: { level: SOL_TCP, name: 4 },
  TCP_KEEPINTVL: { level: SOL_TCP, name: 5 },
  TCP_KEEPCNT: { level: SOL_TCP, name: 6 },
} as const;

/**
 * A socket option name. Values are numbers: booleans as 0/1, sizes in bytes,
 * TCP_KEEP* times in seconds (as Linux), SO_LINGER as the linger time in
 * seconds or -1 for off.
 */
export type SocketOption = keyof typeof SOCKET_OPTIONS;

/** Finds the option name for a Linux (level, number) pair, or undefined. */
export function socketOptionByNumber(level: number, name: number): SocketOption | undefined {
  for (const [k, v] of Object.entries(SOCKET_OPTIONS)) if (v.level === level && v.name === name) return k as SocketOption;
  return undefined;
}

/** A reusable source-address holder for non-blocking datagram receives (filled in place, no allocation). */
export interface SockAddr {
  /** IPv4 address as a number. */
  address: number;
  /** Port. */
  port: number;
}
