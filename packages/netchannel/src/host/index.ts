/**
 * @osv-ts/netchannel/host — host-side helpers (Node only): a Clock and
 * TimerService over Node's timers, and entropy from the host CSPRNG, for the
 * hv's user-mode network and for benchmarks.
 */
export { HostClock, hostEntropy } from './hostClock.js';
