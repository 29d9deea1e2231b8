/**
 * The TCP layer of one stack: wires input, output and timers together,
 * registers with IPv4, owns connection memory (socket buffers in the pool's
 * arena), and runs net channels — the classifier entry per established flow,
 * the drain the owning thread runs, and the switch. Owned by the stack's thread.
 */
import { NetChannel, NetChannelClassifier, type Waker } from '../../netChannel.js';
import type { TcpConfig } from '../../tcpConfig.js';
import { BufferArena } from '../bufferArena.js';
import type { IpOutput } from '../ipOutput.js';
import type { IpProtocol } from '../ipProtocol.js';
import type { Netif } from '../netif.js';
import type { StackCore } from '../stackCore.js';
import { INITIAL_RING_BYTES } from './bufferGrowth.js';
import { IsnGenerator } from './isn.js';
import { RecvBuffer } from './recvBuffer.js';
import { SendBuffer } from './sendBuffer.js';
import { Tcb, TF_ORPHAN, TF_REQ_SACK, TF_REQ_SCALE, TF_REQ_TSTMP, type TcbTimerHandlers } from './tcb.js';
import { tcpInput, tcpInputFromChannel } from './tcpInput.js';
import { TcpShared } from './tcpShared.js';
import { seqGeq, seqLt } from './tcpSeq.js';
import { TCPS_CLOSED, TCPS_ESTABLISHED, TCPS_SYN_SENT, TCPS_TIME_WAIT } from './tcpStates.js';
import { tcpDrop } from './tcpTransitions.js';
import { TcpTable } from './tcpTable.js';
import { tcpTimerHandlers } from './tcpTimers.js';

const EHOSTUNREACH = -113;
/** Largest window shift (RFC 7323 §2.3). */
const MAX_SHIFT = 14;

/** Schedules a channel drain as a promise job: the standalone stand-in for waking the owning thread. */
class JobWaker implements Waker {
  private scheduled = false;
  private readonly job: () => void;

  constructor(run: () => void) {
    this.job = () => {
      this.scheduled = false;
      run();
    };
  }

  wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void Promise.resolve().then(this.job);
  }
}

/** TCP for one stack. */
export class TcpLayer implements IpProtocol {
  readonly sh: TcpShared;
  readonly core: StackCore;
  private readonly handlers: TcbTimerHandlers;
  /** Connections (not listeners) that own buffers, so the switch can reach them. */
  private readonly established = new Set<Tcb>();

  constructor(core: StackCore, cfg: TcpConfig, ip: IpOutput, channels: boolean) {
    this.core = core;
    const e = core.entropy;
    const classifier = new NetChannelClassifier<Tcb>(e.random32());
    classifier.enabled = channels;
    this.sh = new TcpShared(core, cfg, ip, new TcpTable(e), new IsnGenerator(e.random32(), e.random32()), classifier, {
      newChild: (lt) => this.newChild(lt),
      drainChannel: (tp) => this.drainChannel(tp),
      established: (tp) => this.onEstablished(tp),
      detached: (tp) => this.onDetached(tp),
    });
    this.handlers = tcpTimerHandlers(this.sh);
  }

  /** IpProtocol: TCP input. */
  input(nif: Netif, m: number, ipOff: number, l4off: number, l4len: number, src: number, dst: number): boolean {
    return tcpInput(this.sh, nif, m, ipOff, l4off, l4len, src, dst);
  }

  /** A fresh connection block (state CLOSED, no buffers) for a socket. */
  newTcb(): Tcb {
    const tp = new Tcb(this.core.timers, this.handlers);
    const cfg = this.sh.cfg;
    tp.rto = cfg.initialRtoMs;
    tp.sndBufBytes = cfg.sendBufferBytes;
    tp.rcvBufBytes = cfg.receiveBufferBytes;
    tp.keepIdleMs = cfg.keepIdleMs;
    tp.keepIntervalMs = cfg.keepIntervalMs;
    tp.keepCount = cfg.keepCount;
    tp.tsOffset = this.core.entropy.random32();
    return tp;
  }

  /**
   * Settles what `tp` will offer in its SYN for a route of `mtu`: MSS, window
   * scale (sized to the receive ring it will get), timestamps, SACK.
   */
  prepare(tp: Tcb, mtu: number): void {
    const cfg = this.sh.cfg;
    tp.rcvBufMax = BufferArena.blockSize(tp.rcvBufBytes);
    tp.rcvBufCap = Math.min(tp.rcvBufMax, INITIAL_RING_BYTES);
    tp.mssOffer = mtu - 40;
    tp.mss = Math.min(tp.mssOffer, 536);
    tp.maxseg = tp.mss;
    if (cfg.windowScaling) {
      tp.flags |= TF_REQ_SCALE;
      let shift = 0;
      while (shift < MAX_SHIFT && 65535 * 2 ** shift < tp.rcvBufMax) shift++;
      tp.rcvScale = shift;
    }
    if (cfg.timestamps) tp.flags |= TF_REQ_TSTMP;
    if (cfg.sack) tp.flags |= TF_REQ_SACK;
  }

  /**
   * Gives `tp` its send and receive rings, at their starting size (they grow
   * with use: bufferGrowth.ts). Passive connections get them only once
   * established, so a SYN flood holds no buffer memory. Returns false when the
   * arena is full.
   */
  allocateBuffers(tp: Tcb): boolean {
    if (tp.snd !== null) return true;
    const arena = this.core.pool.arena;
    tp.sndBufMax = BufferArena.blockSize(tp.sndBufBytes);
    const sndCap = Math.min(tp.sndBufMax, INITIAL_RING_BYTES);
    const s = arena.alloc(sndCap);
    if (s < 0) return false;
    const r = arena.alloc(tp.rcvBufCap);
    if (r < 0) {
      arena.release(s);
      return false;
    }
    const bytes = this.core.pool.bytes;
    tp.snd = new SendBuffer(bytes, s, sndCap);
    tp.rcv = new RecvBuffer(bytes, r, tp.rcvBufCap);
    return true;
  }

  /** Returns `tp`'s rings to the arena. */
  releaseBuffers(tp: Tcb): void {
    const arena = this.core.pool.arena;
    if (tp.snd !== null) arena.release(tp.snd.base);
    if (tp.rcv !== null) arena.release(tp.rcv.base);
    tp.snd = null;
    tp.rcv = null;
  }

  /** The net-channel switch. Turning it off drains and removes every channel. */
  setChannels(on: boolean): void {
    const cl = this.sh.classifier;
    if (cl.enabled === on) return;
    cl.enabled = on;
    for (const tp of this.established) {
      if (on) this.attachChannel(tp);
      else this.detachChannel(tp);
    }
  }

  /** True while net channels are on. */
  get channelsOn(): boolean {
    return this.sh.classifier.enabled;
  }

  /** Replaces the waker of `tp`'s channel (the kernel: the socket's owning thread); null restores the default. */
  setWaker(tp: Tcb, waker: Waker | null): void {
    tp.waker = waker;
    if (tp.channel !== null) tp.channel.waker = waker ?? this.defaultWaker(tp);
  }

  /** Runs TCP input for the segments on `tp`'s channel: what the owning thread does when woken. */
  drainChannel(tp: Tcb): void {
    const ch = tp.channel;
    if (ch === null) return;
    const pool = this.core.pool;
    for (let m = ch.pop(); m >= 0; m = ch.pop()) {
      tcpInputFromChannel(this.sh, m);
      pool.freeChain(m);
    }
  }

  /**
   * An ICMP error about a segment we sent (RFC 1122 §4.2.3.9, RFC 5927): only
   * for a sequence number in flight; a hard error aborts a connection attempt,
   * anything else is kept as the soft error a timeout will report.
   */
  icmpError(errno: number, hard: boolean, laddr: number, lport: number, faddr: number, fport: number, seq: number): void {
    const tp = this.sh.table.lookup(laddr, lport, faddr, fport);
    if (tp === null || !(seqGeq(seq, tp.sndUna) && seqLt(seq, tp.sndMax))) return;
    if (hard && tp.state === TCPS_SYN_SENT) tcpDrop(this.sh, tp, errno);
    else tp.softError = errno;
  }

  /** ARP gave up on `ip`: connections to it get EHOSTUNREACH as their soft error. */
  unreachable(ip: number): void {
    for (const tp of this.sh.table.all()) if (tp.faddr === ip) tp.softError = EHOSTUNREACH;
  }

  private newChild(lt: Tcb): Tcb | null {
    const tp = this.newTcb();
    tp.sndBufBytes = lt.sndBufBytes;
    tp.rcvBufBytes = lt.rcvBufBytes;
    // Orphan until accept() hands it to a socket: if it dies first, nothing else frees its buffers.
    tp.flags |= (lt.flags & ~(TF_REQ_SCALE | TF_REQ_TSTMP | TF_REQ_SACK)) | TF_ORPHAN;
    tp.keepIdleMs = lt.keepIdleMs;
    tp.keepIntervalMs = lt.keepIntervalMs;
    tp.keepCount = lt.keepCount;
    tp.reuseAddr = lt.reuseAddr;
    tp.lingerSec = lt.lingerSec;
    const nif = this.sh.ip.route(this.sh.seg.src);
    this.prepare(tp, nif === null ? 1500 : nif.mtu);
    return tp;
  }

  private onEstablished(tp: Tcb): boolean {
    if (!this.allocateBuffers(tp)) return false;
    this.established.add(tp);
    if (this.sh.classifier.enabled) this.attachChannel(tp);
    if (tp.listener !== null) tp.listener.owner?.tcpNotify();
    tp.owner?.tcpNotify();
    return true;
  }

  private onDetached(tp: Tcb): void {
    if (tp.state === TCPS_CLOSED || tp.state === TCPS_TIME_WAIT) {
      this.established.delete(tp);
      this.detachChannel(tp);
    }
    if ((tp.flags & TF_ORPHAN) !== 0 && (tp.state === TCPS_CLOSED || tp.state === TCPS_TIME_WAIT)) this.releaseBuffers(tp);
    tp.owner?.tcpNotify();
  }

  private attachChannel(tp: Tcb): void {
    if (tp.channel !== null || tp.state < TCPS_ESTABLISHED || tp.state === TCPS_TIME_WAIT) return;
    const ch = new NetChannel<Tcb>(tp.laddr, tp.lport, tp.faddr, tp.fport, tp, tp.waker ?? this.defaultWaker(tp));
    tp.channel = ch;
    this.sh.classifier.add(ch);
  }

  private detachChannel(tp: Tcb): void {
    const ch = tp.channel;
    if (ch === null) return;
    this.sh.classifier.remove(ch);
    tp.channel = null;
    // Segments already queued still arrived: process them as the ordinary path would.
    const pool = this.core.pool;
    for (let m = ch.pop(); m >= 0; m = ch.pop()) {
      tcpInputFromChannel(this.sh, m);
      pool.freeChain(m);
    }
  }

  /**
   * The standalone stand-in for waking the owning thread: when a socket owns
   * the connection, its readiness notification runs once the stack is
   * quiescent and drains the channel first (TcpSocket.deliverNotify), so the
   * owner's work happens after the receive burst, in one batch; without an
   * owner (a connection not yet accepted, an orphan) a promise job drains it.
   */
  private defaultWaker(tp: Tcb): Waker {
    const core = this.core;
    const job = new JobWaker(() => {
      core.enter();
      try {
        this.drainChannel(tp);
      } finally {
        core.leave();
      }
    });
    return {
      wake(): void {
        const owner = tp.owner;
        if (owner !== null) owner.tcpNotify();
        else job.wake();
      },
    };
  }
}
