/**
 * The hv's built-in network backends: `user` (the embedded NAT gateway, the
 * default) and `switch:NAME` (an in-process L2 switch between Machines).
 * netOptions.ts builds them from `--net`; see README.md in this folder.
 */
export { BackendLink } from './backendLink.js';
export { ANSWER_TTL_S, DnsForwarder, systemResolver } from './dnsForwarder.js';
export type { DnsForwarderOptions, HostResolver } from './dnsForwarder.js';
export { hostAddressFor, loopbackOnly, nothingOutbound } from './outboundPolicy.js';
export type { OutboundPolicy } from './outboundPolicy.js';
export { AGEING_MS, SwitchHub } from './switchHub.js';
export type { SwitchPort, SwitchStats } from './switchHub.js';
export { switchName, SwitchNetBackend } from './switchNetBackend.js';
export { DEFAULT_USER_NET_LIMITS, UserNetBackend } from './userNetBackend.js';
export type { ForwardInfo, UserNetBackendOptions, UserNetLimits, UserNetResources } from './userNetBackend.js';
export { DEFAULT_USER_NET, parseUserNetOptions } from './userNetOptions.js';
export type { HostForward, UserNetOptions } from './userNetOptions.js';
