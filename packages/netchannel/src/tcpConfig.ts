/**
 * Tunables of the TCP implementation, with defaults and the RFC that sets each
 * one. Every field may be overridden per stack through NetStackOptions.tcp.
 */

/** TCP tunables. Times are milliseconds, sizes bytes. */
export interface TcpConfig {
  /** Initial retransmission timeout before any RTT sample (RFC 6298 §2.1: 1 s). */
  readonly initialRtoMs: number;
  /** Lower bound of the RTO (RFC 6298 §2.4: 1 s; Linux uses 200 ms). */
  readonly minRtoMs: number;
  /** Upper bound of the RTO (RFC 6298 §2.5: at least 60 s). */
  readonly maxRtoMs: number;
  /** SYN retransmissions before connect fails with ETIMEDOUT (Linux tcp_syn_retries). */
  readonly synRetries: number;
  /** Data retransmissions before the connection fails with ETIMEDOUT (RFC 1122 §4.2.3.5 R2; Linux tcp_retries2). */
  readonly retries: number;
  /** Delayed-ACK timeout (RFC 9293 §3.8.6.3 / RFC 1122: below 500 ms). */
  readonly delayedAckMs: number;
  /** Maximum segment lifetime; TIME-WAIT lasts 2 MSL (RFC 9293 §3.4.2 suggests 2 min; Linux waits 60 s in all). */
  readonly mslMs: number;
  /** How long an orphaned connection may sit in FIN-WAIT-2 (Linux tcp_fin_timeout). */
  readonly finWait2TimeoutMs: number;
  /** Idle time before the first keepalive probe (RFC 1122 §4.2.3.6: at least 2 h). */
  readonly keepIdleMs: number;
  /** Interval between keepalive probes. */
  readonly keepIntervalMs: number;
  /** Unanswered keepalive probes before the connection fails. */
  readonly keepCount: number;
  /** Smallest and largest persist (zero-window probe) interval (4.4BSD: 5 s and 60 s). */
  readonly persistMinMs: number;
  readonly persistMaxMs: number;
  /** Default send buffer (SO_SNDBUF), bytes; rounded up to a power of two. */
  readonly sendBufferBytes: number;
  /** Default receive buffer (SO_RCVBUF), bytes; rounded up to a power of two. */
  readonly receiveBufferBytes: number;
  /** Offer window scaling (RFC 7323 §2). */
  readonly windowScaling: boolean;
  /** Offer timestamps (RFC 7323 §3). */
  readonly timestamps: boolean;
  /** Offer SACK (RFC 2018). */
  readonly sack: boolean;
  /** Most connections in SYN-RECEIVED per listener (Linux tcp_max_syn_backlog). */
  readonly synBacklog: number;
  /** Challenge ACKs allowed per second, stack-wide (RFC 5961 §7; Linux tcp_challenge_ack_limit). */
  readonly challengeAckLimit: number;
}

/** The defaults: RFC values where an RFC gives one, Linux's otherwise. */
export const DEFAULT_TCP_CONFIG: TcpConfig = Object.freeze({
  initialRtoMs: 1000,
  minRtoMs: 1000,
  maxRtoMs: 60_000,
  synRetries: 6,
  retries: 15,
  delayedAckMs: 40,
  mslMs: 30_000,
  finWait2TimeoutMs: 60_000,
  keepIdleMs: 2 * 60 * 60 * 1000,
  keepIntervalMs: 75_000,
  keepCount: 9,
  persistMinMs: 5_000,
  persistMaxMs: 60_000,
  sendBufferBytes: 256 * 1024,
  receiveBufferBytes: 256 * 1024,
  windowScaling: true,
  timestamps: true,
  sack: true,
  synBacklog: 256,
  challengeAckLimit: 1000,
});
