/**
 * Round-trip time estimation and the retransmission timeout (RFC 6298 §2),
 * with the clock granularity G = 1 ms. Samples come from timestamps
 * (RFC 7323 §4) or, without them, from one timed segment at a time, never a
 * retransmitted one (Karn's algorithm, RFC 6298 §3).
 */
import type { TcpConfig } from '../../tcpConfig.js';
import type { Tcb } from './tcb.js';

/** Clock granularity G, ms. */
const G = 1;

/** Folds one RTT measurement (ms) into SRTT/RTTVAR and recomputes the RTO (RFC 6298 §2.2–2.3). */
export function rttSample(tp: Tcb, cfg: TcpConfig, rttMs: number): void {
  const r = Math.max(rttMs, 0);
  if (tp.srtt === 0) {
    tp.srtt = Math.max(r, G);
    tp.rttvar = r / 2;
  } else {
    tp.rttvar = 0.75 * tp.rttvar + 0.25 * Math.abs(tp.srtt - r);
    tp.srtt = 0.875 * tp.srtt + 0.125 * r;
  }
  tp.rto = Math.min(Math.max(tp.srtt + Math.max(G, 4 * tp.rttvar), cfg.minRtoMs), cfg.maxRtoMs);
  // A valid sample ends any backoff (RFC 6298 §5, Karn).
  tp.rxtShift = 0;
}

/** The RTO to arm now: the base RTO doubled per consecutive timeout, capped (RFC 6298 §5.5). */
export function currentRto(tp: Tcb, cfg: TcpConfig): number {
  return Math.min(tp.rto * (1 << Math.min(tp.rxtShift, 30)), cfg.maxRtoMs);
}
