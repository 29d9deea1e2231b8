/**
 * @osv-ts/netchannel/host — host-side helpers (Node only): a Clock and
 * TimerService over Node's timers, and entropy from the host CSPRNG, for the
 * hv's user-mode network and for benchmarks; and a reference for TCP
 * segmentation offload (TsoLink, splitTsoFrame) for tests of links and
 * drivers that carry a stack's super-segments.
 */
export { HostClock, hostEntropy } from './hostClock.js';
export { TsoLink, splitTsoFrame, tcpFrameChecksumsValid } from './tsoLink.js';
