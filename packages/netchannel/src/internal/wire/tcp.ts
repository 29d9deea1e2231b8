/**
 * The TCP header (RFC 9293 §3.1) and its options: MSS (RFC 9293 §3.7.1),
 * window scale and timestamps (RFC 7323 §2.2, §3.2), SACK-permitted and SACK
 * (RFC 2018 §2, §3). Option layouts are tables like every header; the parser
 * fills a caller-owned TcpOptions so the receive path allocates nothing.
 */
import { get16, get32 } from './bytes.js';
import { packed } from './layout.js';

/** TCP header without options, 20 bytes. */
export const TCP_HEADER = packed([
  ['sport', 2],
  ['dport', 2],
  ['seq', 4],
  ['ack', 4],
  ['offx2', 1], // data offset in 32-bit words (high 4 bits), reserved (low 4)
  ['flags', 1], // control bits TH_*
  ['win', 2], // window, scaled by the peer's shift except in SYNs (RFC 7323 §2.2)
  ['sum', 2],
  ['urp', 2], // urgent pointer
]);

/** TCP header length without options, bytes. */
export const TCP_HDR_LEN = TCP_HEADER.SIZE;
/** Largest TCP header (data offset 15), bytes. */
export const TCP_MAX_HDR_LEN = 60;
/** Offset of `sport` in TCP_HEADER. */
export const TH_SPORT = TCP_HEADER.sport.offset;
/** Offset of `dport` in TCP_HEADER. */
export const TH_DPORT = TCP_HEADER.dport.offset;
/** Offset of `seq` in TCP_HEADER. */
export const TH_SEQ = TCP_HEADER.seq.offset;
/** Offset of `ack` in TCP_HEADER. */
export const TH_ACKNUM = TCP_HEADER.ack.offset;
/** Offset of `offx2` in TCP_HEADER. */
export const TH_OFF = TCP_HEADER.offx2.offset;
/** Offset of `flags` in TCP_HEADER. */
export const TH_FLAGS = TCP_HEADER.flags.offset;
/** Offset of `win` in TCP_HEADER. */
export const TH_WIN = TCP_HEADER.win.offset;
/** Offset of `sum` in TCP_HEADER. */
export const TH_SUM = TCP_HEADER.sum.offset;
/** Offset of `urp` in TCP_HEADER. */
export const TH_URP = TCP_HEADER.urp.offset;

/** FIN control bit (RFC 9293 §3.1). */
export const TH_FIN = 0x01;
/** SYN control bit. */
export const TH_SYN = 0x02;
/** RST control bit. */
export const TH_RST = 0x04;
/** PSH control bit. */
export const TH_PUSH = 0x08;
/** ACK control bit. */
export const TH_ACK = 0x10;
/** URG control bit. */
export const TH_URG = 0x20;
/** ECE control bit (RFC 3168). */
export const TH_ECE = 0x40;
/** CWR control bit (RFC 3168). */
export const TH_CWR = 0x80;

/** End of option list. */
export const TCPOPT_EOL = 0;
/** No-operation (padding). */
export const TCPOPT_NOP = 1;
/** Maximum segment size (SYN only). */
export const TCPOPT_MAXSEG = 2;
/** Window scale shift (SYN only, RFC 7323 §2.2). */
export const TCPOPT_WINDOW = 3;
/** SACK permitted (SYN only, RFC 2018 §2). */
export const TCPOPT_SACK_PERMITTED = 4;
/** SACK blocks (RFC 2018 §3). */
export const TCPOPT_SACK = 5;
/** Timestamps (RFC 7323 §3.2). */
export const TCPOPT_TIMESTAMP = 8;

/** MSS option (RFC 9293 §3.2). */
export const TCPOPT_MAXSEG_LAYOUT = packed([['kind', 1], ['len', 1], ['mss', 2]]);
/** Window scale option (RFC 7323 §2.2). */
export const TCPOPT_WINDOW_LAYOUT = packed([['kind', 1], ['len', 1], ['shift', 1]]);
/** SACK-permitted option (RFC 2018 §2). */
export const TCPOPT_SACK_PERMITTED_LAYOUT = packed([['kind', 1], ['len', 1]]);
/** Timestamps option (RFC 7323 §3.2). */
export const TCPOPT_TIMESTAMP_LAYOUT = packed([['kind', 1], ['len', 1], ['tsval', 4], ['tsecr', 4]]);
/** SACK option header (RFC 2018 §3), followed by `len - 2` bytes of blocks. */
export const TCPOPT_SACK_LAYOUT = packed([['kind', 1], ['len', 1]]);
/** One SACK block: left and right edge sequence numbers (right is one past the last byte). */
export const TCPOPT_SACK_BLOCK = packed([['left', 4], ['right', 4]]);

/** Largest window shift allowed (RFC 7323 §2.3). */
export const TCP_MAX_WINSHIFT = 14;
/** Most SACK blocks an option can carry (40 option bytes). */
export const TCP_MAX_SACK = 4;
/** Default MSS when the peer sends none (RFC 9293 §3.7.1; RFC 1122 §4.2.2.6). */
export const TCP_DEFAULT_MSS = 536;

/** TcpOptions.present bit: MSS seen. */
export const TOF_MSS = 1;
/** TcpOptions.present bit: window scale seen. */
export const TOF_SCALE = 2;
/** TcpOptions.present bit: SACK-permitted seen. */
export const TOF_SACKPERM = 4;
/** TcpOptions.present bit: timestamps seen. */
export const TOF_TS = 8;
/** TcpOptions.present bit: SACK blocks seen. */
export const TOF_SACK = 16;

/** Options parsed from one segment; one instance is reused for every segment. */
export class TcpOptions {
  /** TOF_* bits of the options found. */
  present = 0;
  /** Peer's MSS (bytes), when TOF_MSS. */
  mss = 0;
  /** Peer's window shift (already clamped to TCP_MAX_WINSHIFT), when TOF_SCALE. */
  wscale = 0;
  /** TSval, when TOF_TS. */
  tsVal = 0;
  /** TSecr, when TOF_TS. */
  tsEcr = 0;
  /** Number of SACK blocks in `sack`. */
  nsack = 0;
  /** SACK blocks as [left0, right0, left1, right1, ...]. */
  readonly sack = new Uint32Array(2 * TCP_MAX_SACK);
}

/**
 * Parses the options in `b[off, off+len)` into `out`. SYN-only options are
 * taken only when `isSyn`. A malformed option (length < 2 or past the end)
 * stops parsing; options before it are kept, as RFC 9293 §3.1 asks that an
 * illegal length be survived. Never throws.
 */
export function parseTcpOptions(b: Uint8Array, off: number, len: number, isSyn: boolean, out: TcpOptions): void {
  out.present = 0;
  out.nsack = 0;
  const end = off + len;
  let i = off;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const olen = b[i + 1]!;
    if (olen < 2 || i + olen > end) break;
    parseOne(b, i, kind, olen, isSyn, out);
    i += olen;
  }
}

function parseOne(b: Uint8Array, i: number, kind: number, olen: number, isSyn: boolean, out: TcpOptions): void {
  switch (kind) {
    case TCPOPT_MAXSEG:
      if (isSyn && olen === TCPOPT_MAXSEG_LAYOUT.SIZE) {
        out.present |= TOF_MSS;
        out.mss = get16(b, i + TCPOPT_MAXSEG_LAYOUT.mss.offset);
      }
      return;
    case TCPOPT_WINDOW:
      if (isSyn && olen === TCPOPT_WINDOW_LAYOUT.SIZE) {
        out.present |= TOF_SCALE;
        out.wscale = Math.min(b[i + TCPOPT_WINDOW_LAYOUT.shift.offset]!, TCP_MAX_WINSHIFT);
      }
      return;
    case TCPOPT_SACK_PERMITTED:
      if (isSyn && olen === TCPOPT_SACK_PERMITTED_LAYOUT.SIZE) out.present |= TOF_SACKPERM;
      return;
    case TCPOPT_TIMESTAMP:
      if (olen === TCPOPT_TIMESTAMP_LAYOUT.SIZE) {
        out.present |= TOF_TS;
        out.tsVal = get32(b, i + TCPOPT_TIMESTAMP_LAYOUT.tsval.offset);
        out.tsEcr = get32(b, i + TCPOPT_TIMESTAMP_LAYOUT.tsecr.offset);
      }
      return;
    case TCPOPT_SACK: {
      const body = olen - TCPOPT_SACK_LAYOUT.SIZE;
      if (isSyn || body <= 0 || body % TCPOPT_SACK_BLOCK.SIZE !== 0) return;
      out.present |= TOF_SACK;
      const n = Math.min(body / TCPOPT_SACK_BLOCK.SIZE, TCP_MAX_SACK);
      for (let k = 0; k < n; k++) {
        const p = i + TCPOPT_SACK_LAYOUT.SIZE + k * TCPOPT_SACK_BLOCK.SIZE;
        out.sack[2 * k] = get32(b, p + TCPOPT_SACK_BLOCK.left.offset);
        out.sack[2 * k + 1] = get32(b, p + TCPOPT_SACK_BLOCK.right.offset);
      }
      out.nsack = n;
      return;
    }
    default:
      return; // unknown options are skipped by their length (RFC 9293 §3.1)
  }
}
