/**
 * @osv-ts/netchannel — a TCP/IP stack with OSv's net channels.
 *
 * Build a stack with `new NetStack({ clock, timers, entropy })`, attach links
 * with `addInterface`, and use `tcpSocket()`, `udpSocket()`, `poller()`,
 * `addHook()`. See README.md for the layers and the files that own them.
 */
export { formatIPv4, formatMac, parseIPv4, parseMac, prefixToMask, toIPv4 } from './address.js';
export type { Clock, TimerHandle, TimerService } from './clock.js';
export { DhcpClient } from './dhcpClient.js';
export type { DhcpClientOptions, DhcpLease, DhcpState } from './dhcpClient.js';
export { DhcpServer } from './dhcpServer.js';
export type { DhcpServerOptions } from './dhcpServer.js';
export { DnsResolver } from './dnsResolver.js';
export type { DnsResolverOptions } from './dnsResolver.js';
export {
  DNS_CLASS_ANY, DNS_CLASS_IN, DNS_PORT, DNS_RCODE_FORMERR, DNS_RCODE_NOERROR, DNS_RCODE_NOTIMP, DNS_RCODE_NXDOMAIN,
  DNS_RCODE_SERVFAIL, DNS_TYPE_A, DNS_TYPE_AAAA, DNS_UDP_MAX, encodeDnsResponse, parseDnsQuery,
} from './internal/wire/dns.js';
export type { DnsAnswer, DnsQuery } from './internal/wire/dns.js';
export { seededEntropy } from './entropy.js';
export type { Entropy } from './entropy.js';
export { errnoCode, NET_ERRNO, NET_ERROR_CODES, NetError } from './errors.js';
export type { NetErrorCode } from './errors.js';
export { ImpairedLink, impairLink } from './impairedLink.js';
export type { Impairment, ImpairLinkOptions, ImpairmentStats } from './impairedLink.js';
export type { Link, LinkReceiver } from './link.js';
export { createLinkPair } from './linkPair.js';
export type { LinkPairOptions } from './linkPair.js';
export { MBUF_HEADROOM, MBUF_SIZE, MbufPool } from './mbufPool.js';
export type { MbufPoolOptions } from './mbufPool.js';
export { NET_CHANNEL_SLOTS } from './netChannel.js';
export type { Waker } from './netChannel.js';
export { NetInterface } from './netInterface.js';
export type { InterfaceConfig } from './netInterface.js';
export { NetStack } from './netStack.js';
export type { NetResources, NetStackOptions, PingOptions } from './netStack.js';
export type { NetStats } from './netStats.js';
export { PFIL_CONSUMED, PFIL_PASS } from './packetHooks.js';
export type { HookPacket, HookPoint, PacketHook } from './packetHooks.js';
export { Poller } from './poller.js';
export type { PollEvent } from './poller.js';
export { Socket } from './socket.js';
export type { ReadinessWatcher } from './socket.js';
export {
  EPOLLET, EPOLLONESHOT, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDHUP, SHUT_RD, SHUT_RDWR, SHUT_WR,
  SOCKET_OPTIONS, SOL_SOCKET, SOL_TCP, socketOptionByNumber,
} from './socketOptions.js';
export type { SockAddr, SocketOption } from './socketOptions.js';
export { DEFAULT_TCP_CONFIG } from './tcpConfig.js';
export type { TcpConfig } from './tcpConfig.js';
export { TcpSocket } from './tcpSocket.js';
export { UdpSocket } from './udpSocket.js';
export type { Datagram } from './udpSocket.js';
export { VirtualClock } from './virtualClock.js';
export type { ArpConfig } from './internal/arpCache.js';
export type { ReassemblyConfig } from './internal/reassembly.js';
