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
export { HostClock, hostEntropy } from '@osv-ts/netchannel/host';
