/**
 * What TCP input, output and timers share within one stack: configuration,
 * tables, the one reusable parsed-segment record, counters for the RFC 5961
 * challenge-ACK limit, and the entry points the TCP layer plugs in (so these
 * files depend on no layer above them). Owned by the stack's thread.
 */
import type { NetChannelClassifier } from '../../netChannel.js';
import type { TcpConfig } from '../../tcpConfig.js';
import type { IpOutput } from '../ipOutput.js';
import type { StackCore } from '../stackCore.js';
import { TcpOptions } from '../wire/tcp.js';
import type { IsnGenerator } from './isn.js';
import type { Tcb } from './tcb.js';
import type { TcpTable } from './tcpTable.js';

/** A parsed incoming segment; one instance, overwritten per segment. */
export class TcpSegment {
  src = 0;
  dst = 0;
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  /** Window field as sent (unscaled). */
  wnd = 0;
  /** Offset of the first data byte in the pool's bytes. */
  dataOff = 0;
  /** Data length, bytes (changes as the segment is trimmed). */
  dataLen = 0;
  readonly opts = new TcpOptions();
}

/** Behaviour the TCP layer supplies to input, output and timers. */
export interface TcpHooks {
  /** A new connection from `listener` for an incoming SYN (no buffers yet: they come at ESTABLISHED). */
  newChild(listener: Tcb): Tcb | null;
  /** Runs TCP input for every segment queued on `tp`'s channel (ordering before the ordinary path). */
  drainChannel(tp: Tcb): void;
  /** The connection became established: give it buffers and a channel, wake owners. False when memory is short. */
  established(tp: Tcb): boolean;
  /** The connection reached CLOSED (or TIME-WAIT): drop its channel; free buffers if orphaned. */
  detached(tp: Tcb): void;
}

/** Shared TCP state of one stack. */
export class TcpShared {
  readonly core: StackCore;
  readonly cfg: TcpConfig;
  readonly ip: IpOutput;
  readonly table: TcpTable;
  readonly isn: IsnGenerator;
  readonly classifier: NetChannelClassifier<Tcb>;
  readonly seg = new TcpSegment();
  /** Scratch for outgoing SACK blocks. */
  readonly sackOut = new Uint32Array(8);
  hooks: TcpHooks;
  /** Connections that exist (any state but freed). */
  live = 0;
  private challengeStart = 0;
  private challengeCount = 0;

  constructor(core: StackCore, cfg: TcpConfig, ip: IpOutput, table: TcpTable, isn: IsnGenerator, classifier: NetChannelClassifier<Tcb>, hooks: TcpHooks) {
    this.core = core;
    this.cfg = cfg;
    this.ip = ip;
    this.table = table;
    this.isn = isn;
    this.classifier = classifier;
    this.hooks = hooks;
  }

  /** Milliseconds on the stack's clock. */
  now(): number {
    return this.core.now();
  }

  /** Our TSval for `tp` (RFC 7323 §5.4: a millisecond clock plus a random per-connection offset). */
  tsNow(tp: Tcb): number {
    return (Math.floor(this.core.now()) + tp.tsOffset) >>> 0;
  }

  /** RFC 5961 §7: may another challenge ACK be sent this second? Counts it if so. */
  challengeAllowed(): boolean {
    const now = this.now();
    if (now - this.challengeStart >= 1000) {
      this.challengeStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.cfg.challengeAckLimit) {
      this.core.stats.tcpChallengeAcksSuppressed++;
      return false;
    }
    this.challengeCount++;
    this.core.stats.tcpChallengeAcks++;
    return true;
  }
}
