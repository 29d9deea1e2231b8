/**
 * The connection states of RFC 9293 §3.3.2, numbered as 4.4BSD numbers them so
 * that "have we received a SYN" and "have we sent a FIN" are range tests.
 */

/** No connection. */
export const TCPS_CLOSED = 0;
/** Waiting for a SYN. */
export const TCPS_LISTEN = 1;
/** SYN sent, waiting for the peer's SYN. */
export const TCPS_SYN_SENT = 2;
/** SYN received and SYN sent, waiting for the ACK of ours. */
export const TCPS_SYN_RECEIVED = 3;
/** Open; data flows both ways. */
export const TCPS_ESTABLISHED = 4;
/** Peer sent FIN; waiting for the application to close. */
export const TCPS_CLOSE_WAIT = 5;
/** We sent FIN; waiting for its ACK or the peer's FIN. */
export const TCPS_FIN_WAIT_1 = 6;
/** Both sent FIN (simultaneous close); waiting for the ACK of ours. */
export const TCPS_CLOSING = 7;
/** Peer closed first, then we sent FIN; waiting for its ACK. */
export const TCPS_LAST_ACK = 8;
/** Our FIN is acknowledged; waiting for the peer's. */
export const TCPS_FIN_WAIT_2 = 9;
/** Both closed; waiting 2 MSL for stray segments. */
export const TCPS_TIME_WAIT = 10;

/** State names, indexed by state, as RFC 9293 writes them. */
export const TCP_STATE_NAMES = [
  'CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT',
  'FIN-WAIT-1', 'CLOSING', 'LAST-ACK', 'FIN-WAIT-2', 'TIME-WAIT',
] as const;

/** A state name. */
export type TcpStateName = (typeof TCP_STATE_NAMES)[number];

/** True once the connection is synchronized (a SYN was received and acknowledged both ways or ours is pending). */
export function haveRcvdSyn(state: number): boolean {
  return state >= TCPS_SYN_RECEIVED;
}

/** True in the states where the peer has sent its FIN. */
export function haveRcvdFin(state: number): boolean {
  return state === TCPS_CLOSE_WAIT || state === TCPS_CLOSING || state === TCPS_LAST_ACK || state === TCPS_TIME_WAIT;
}

/** True in the states where data may still arrive from the peer. */
export function canReceiveData(state: number): boolean {
  return state === TCPS_ESTABLISHED || state === TCPS_FIN_WAIT_1 || state === TCPS_FIN_WAIT_2 || state === TCPS_SYN_RECEIVED;
}
