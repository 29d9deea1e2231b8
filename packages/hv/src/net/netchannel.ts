/**
 * The one place the hv's network backends import netchannel from, so the
 * dependency is visible at a glance (and, should the package layout change,
 * one file changes). The user backend runs a netchannel stack on the host as
 * the guest's gateway; its Node-only helpers come from `/host`.
 */
export {
  DhcpServer, MBUF_HEADROOM, MBUF_SIZE, NET_ERRNO, NetError, NetStack, POLLERR, POLLHUP, POLLIN, POLLOUT, SHUT_WR,
  formatIPv4, parseIPv4,
  type Link, type LinkReceiver, type NetInterface, type NetResources, type SockAddr, type TcpSocket, type UdpSocket,
} from '@osv-ts/netchannel';
// The DNS message codec (the server side of it: the DNS forwarder's queries and answers).
export {
  DNS_CLASS_ANY, DNS_CLASS_IN, DNS_PORT, DNS_RCODE_NOERROR, DNS_RCODE_NOTIMP, DNS_RCODE_NXDOMAIN, DNS_RCODE_SERVFAIL,
  DNS_TYPE_A, DNS_TYPE_AAAA, DNS_UDP_MAX, encodeDnsResponse, parseDnsQuery,
  type DnsAnswer, type DnsQuery,
} from '@osv-ts/netchannel';
// The impairment shim, for `--net ...,loss=,delay=,...` (devices/impairedNetBackend.ts).
export { ImpairedLink, impairLink, type Impairment, type ImpairmentStats } from '@osv-ts/netchannel';
export { HostClock, hostEntropy } from '@osv-ts/netchannel/host';
