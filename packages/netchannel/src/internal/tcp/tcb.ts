/**
 * The transmission control block (RFC 9293 §3.3.1): everything one connection
 * knows. Fields are plain numbers so V8 keeps the object's shape fixed; timers
 * are created once per connection and re-armed, never re-allocated.
 * Owned by the thread that runs the stack (or, for a channelled flow, by the
 * socket's owning thread while it drains the channel — the same vCPU).
 */
import type { NetChannel, Waker } from '../../netChannel.js';
import type { TimerDriver } from '../timerDriver.js';
import type { Timer } from '../timerQueue.js';
import type { RecvBuffer } from './recvBuffer.js';
import { SackScoreboard } from './sackScoreboard.js';
import type { SendBuffer } from './sendBuffer.js';
import { TCPS_CLOSED } from './tcpStates.js';

/** Send an ACK at the next output, whatever else. */
export const TF_ACKNOW = 1 << 0;
/** A delayed ACK is pending (one in-order segment not yet acknowledged). */
export const TF_DELACK = 1 << 1;
/** TCP_NODELAY: Nagle's algorithm off. */
export const TF_NODELAY = 1 << 2;
/** The application shut down sending: a FIN follows the data. */
export const TF_SHUTWR = 1 << 3;
/** The application shut down receiving. */
export const TF_SHUTRD = 1 << 4;
/** We offered window scaling. */
export const TF_REQ_SCALE = 1 << 5;
/** Window scaling is in use (both sides offered it). */
export const TF_RCVD_SCALE = 1 << 6;
/** We offered timestamps. */
export const TF_REQ_TSTMP = 1 << 7;
/** Timestamps are in use. */
export const TF_RCVD_TSTMP = 1 << 8;
/** We offered SACK. */
export const TF_REQ_SACK = 1 << 9;
/** SACK is in use. */
export const TF_SACK_PERMIT = 1 << 10;
/** SO_KEEPALIVE. */
export const TF_KEEPALIVE = 1 << 11;
/** The application closed the socket: the connection is an orphan. */
export const TF_ORPHAN = 1 << 12;
/** The peer's FIN arrived ahead of missing data; rcvFinSeq holds its sequence number. */
export const TF_FIN_PENDING = 1 << 13;
/** The next output must send one byte even into a zero window (persist probe). */
export const TF_FORCE = 1 << 14;
/** In loss recovery (fast recovery or SACK recovery). */
export const TF_RECOVERY = 1 << 15;
/** Created by a listener (passive open). */
export const TF_PASSIVE = 1 << 16;
/** The connection was accepted by the application (or opened actively). */
export const TF_ACCEPTED = 1 << 17;
/** Our FIN has been acknowledged. */
export const TF_FIN_ACKED = 1 << 18;
/** The peer's FIN was consumed: reads past the data return end of file. */
export const TF_GOT_FIN = 1 << 19;

/** The socket side of a connection, notified (deferred) when readiness may have changed. */
export interface TcpOwner {
  /** Readiness of the connection may have changed (data, space, state, error). */
  tcpNotify(): void;
}

/** What the timers call; supplied by the TCP layer so this file depends on no behaviour. */
export interface TcbTimerHandlers {
  rexmt(tp: Tcb): void;
  persist(tp: Tcb): void;
  keep(tp: Tcb): void;
  delack(tp: Tcb): void;
  twoMsl(tp: Tcb): void;
}

/** One connection's state. */
export class Tcb {
  state = TCPS_CLOSED;
  /** TF_* bits. */
  flags = 0;
  laddr = 0;
  lport = 0;
  faddr = 0;
  fport = 0;
  /** Demux hash-chain link; owned by TcpTable. */
  hashNext: Tcb | null = null;
  /** True while in the demux table. */
  inTable = false;

  // Send sequence space (RFC 9293 §3.3.1), all modulo 2^32.
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** Highest sequence number sent plus one. */
  sndMax = 0;
  /** Peer's window, bytes (already scaled). */
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Largest window the peer ever offered (RFC 5961 §5.2 MAX.SND.WND). */
  maxSndWnd = 0;
  /** Sequence number of the first byte in the send buffer. */
  sndBase = 0;

  // Receive sequence space.
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window last advertised. */
  rcvAdv = 0;
  /** Sequence number of the peer's FIN when it arrived out of order (TF_FIN_PENDING). */
  rcvFinSeq = 0;

  // Options (RFC 7323, RFC 2018, RFC 9293 §3.7.1).
  /** Shift applied to the peer's advertised windows. */
  sndScale = 0;
  /** Shift we apply to windows we advertise. */
  rcvScale = 0;
  /** TS.Recent (RFC 7323 §4.3). */
  tsRecent = 0;
  /** When tsRecent was last updated, ms (for the 24-day PAWS limit). */
  tsRecentAge = 0;
  /** Last.ACK.sent (RFC 7323 §4.3). */
  lastAckSent = 0;
  /** Random offset added to our timestamp clock (RFC 7323 §5.4). */
  tsOffset = 0;
  /** MSS the peer announced (bytes of data per segment, options not counted). */
  peerMss = 536;
  /** Largest segment payload including TCP options: min(peer's MSS, our MTU − 40) (RFC 6691). */
  mss = 536;
  /** SMSS: the data in a full segment once our fixed options are taken off `mss` (RFC 6691). */
  maxseg = 536;
  /** MSS we announce. */
  mssOffer = 1460;

  // RTT estimation (RFC 6298), ms. srtt = 0 means no sample yet.
  srtt = 0;
  rttvar = 0;
  /** Current RTO before backoff, ms. */
  rto = 1000;
  /** Consecutive retransmission timeouts (backoff exponent). */
  rxtShift = 0;
  /** Sequence number being timed (no timestamps), valid when rtTime ≥ 0. */
  rtSeq = 0;
  /** When the timed segment was sent, ms; −1 when none is being timed. */
  rtTime = -1;

  // Congestion control (RFC 5681, RFC 6582, RFC 6675), bytes.
  cwnd = 0;
  ssthresh = 0x3fffffff;
  dupAcks = 0;
  /** Segments limited transmit lets out beyond cwnd (RFC 3042: one per early duplicate ACK, at most 2). */
  limitedTransmit = 0;
  /** Highest sequence sent when recovery began (RFC 6582 "recover"). */
  recover = 0;
  /** Highest sequence retransmitted in this SACK recovery (RFC 6675 HighRxt). */
  highRxt = 0;
  /** SND.MAX when the current pass of hole retransmissions began (lost-retransmission detection). */
  rexmtMark = 0;
  /** Bytes acknowledged towards the next congestion-avoidance increase. */
  caAcked = 0;
  readonly sack = new SackScoreboard();

  // Timers and their state.
  readonly tRexmt: Timer;
  readonly tPersist: Timer;
  readonly tKeep: Timer;
  readonly tDelack: Timer;
  readonly t2msl: Timer;
  persistShift = 0;
  keepProbes = 0;
  /** Keepalive settings (TCP_KEEPIDLE etc.), ms. */
  keepIdleMs = 0;
  keepIntervalMs = 0;
  keepCount = 0;
  /** Last time a segment arrived, ms. */
  lastHeard = 0;

  // Buffers (arena memory), allocated when the connection starts.
  snd: SendBuffer | null = null;
  rcv: RecvBuffer | null = null;
  /** Requested buffer sizes (SO_SNDBUF / SO_RCVBUF), bytes. */
  sndBufBytes = 0;
  rcvBufBytes = 0;
  /**
   * Size the receive ring starts with (what a SYN advertises before the ring
   * exists), bytes. Rings start small and grow towards the SO_SNDBUF /
   * SO_RCVBUF sizes while the connection needs it (internal/tcp/bufferGrowth.ts),
   * so an idle connection holds little arena memory.
   */
  rcvBufCap = 0;
  /** Largest the send ring may grow to (SO_SNDBUF rounded to a power of two), bytes. */
  sndBufMax = 0;
  /** Largest the receive ring may grow to (SO_RCVBUF rounded to a power of two); sizes the window scale. */
  rcvBufMax = 0;

  // Application side.
  owner: TcpOwner | null = null;
  /** Pending hard error (negative errno) for the application, 0 if none. */
  error = 0;
  /** Last soft error (ICMP, ARP failure) reported if the connection times out. */
  softError = 0;
  /** SO_LINGER seconds, -1 when off. */
  lingerSec = -1;

  // Listening.
  /** For a passive child before accept: its listener. */
  listener: Tcb | null = null;
  /** Listener: children in SYN-RECEIVED. */
  synQueueLen = 0;
  /** Listener: established children waiting for accept(). */
  acceptQueue: Tcb[] = [];
  /** Listener: most children waiting in acceptQueue (listen's backlog). */
  backlog = 0;
  /** SO_REUSEADDR on the socket this connection came from. */
  reuseAddr = false;

  /** The flow's net channel while it has one. */
  channel: NetChannel<Tcb> | null = null;
  /** Waker of the socket's owning thread (null: the stack's default job waker). */
  waker: Waker | null = null;

  constructor(timers: TimerDriver, h: TcbTimerHandlers) {
    this.tRexmt = timers.timer(() => h.rexmt(this));
    this.tPersist = timers.timer(() => h.persist(this));
    this.tKeep = timers.timer(() => h.keep(this));
    this.tDelack = timers.timer(() => h.delack(this));
    this.t2msl = timers.timer(() => h.twoMsl(this));
  }
}
