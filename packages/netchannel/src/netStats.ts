/**
 * The stack's counters, after the SNMP MIB-II groups (RFC 1213) plus
 * netchannel's own. Plain numbers, incremented in place on the packet paths.
 */

/** Counters of one NetStack; read them, never write them. */
export interface NetStats {
  /** Frames received from links (including loopback deliveries). */
  framesIn: number;
  /** Frames handed to links. */
  framesOut: number;
  /** Frames dropped for bad length, unknown EtherType or foreign destination MAC. */
  framesDropped: number;
  /** Frames dropped because no mbuf was free. */
  noMbufs: number;
  /** ARP packets received / sent / rejected. */
  arpIn: number;
  arpOut: number;
  arpBad: number;
  /** Packets dropped because ARP resolution failed or the hold queue overflowed. */
  arpDropped: number;
  /** IPv4 datagrams received / delivered locally / with header errors / for other hosts. */
  ipInReceives: number;
  ipInDelivers: number;
  ipInHdrErrors: number;
  ipInAddrErrors: number;
  /** Datagrams with an unknown protocol. */
  ipInUnknownProtos: number;
  /** Datagrams sent / with no route. */
  ipOutRequests: number;
  ipOutNoRoutes: number;
  /** Fragments received / datagrams reassembled / reassemblies failed or evicted. */
  ipReasmReqds: number;
  ipReasmOKs: number;
  ipReasmFails: number;
  /** Datagrams fragmented on output / fragments created. */
  ipFragOKs: number;
  ipFragCreates: number;
  /** ICMP messages received / sent / with errors. */
  icmpIn: number;
  icmpOut: number;
  icmpInErrors: number;
  /** UDP datagrams delivered / to closed ports / bad / dropped on a full socket / sent. */
  udpInDatagrams: number;
  udpNoPorts: number;
  udpInErrors: number;
  udpRcvbufErrors: number;
  udpOutDatagrams: number;
  /** TCP segments received / sent / retransmitted / bad (checksum, header) / resets sent. */
  tcpInSegs: number;
  tcpOutSegs: number;
  tcpRetransSegs: number;
  tcpInErrs: number;
  tcpOutRsts: number;
  /**
   * Why RSTs answered segments that had no connection (RFC 9293 §3.10.7.1):
   * no listener on the port (a SYN before listen(), or after close) / an
   * unacceptable ACK (to a listener, in SYN-SENT or SYN-RECEIVED).
   */
  tcpRstNoListener: number;
  tcpRstBadAck: number;
  /** Connections opened actively / passively / failed / reset in an established state. */
  tcpActiveOpens: number;
  tcpPassiveOpens: number;
  tcpAttemptFails: number;
  tcpEstabResets: number;
  /** SYNs dropped because the listener's SYN or accept queue was full. */
  tcpListenOverflows: number;
  /** Challenge ACKs sent (RFC 5961) / suppressed by the rate limit. */
  tcpChallengeAcks: number;
  tcpChallengeAcksSuppressed: number;
  /** Segments dropped by PAWS (RFC 7323 §5). */
  tcpPawsDrops: number;
  /** Retransmission timeouts / fast retransmits / recoveries entered. */
  tcpTimeouts: number;
  tcpFastRetrans: number;
  tcpRecoveries: number;
  /**
   * TCP super-segments handed to a link with segmentation offload
   * (Link.tsoMaxBytes) / payload bytes they carried. Each also counts as
   * the MSS-sized segments it becomes in tcpOutSegs.
   */
  tcpTsoFrames: number;
  tcpTsoBytes: number;
  /** Segments the classifier put on a net channel / sent down the ordinary path instead because the ring was full. */
  channelDelivered: number;
  channelRingFull: number;
  /** Packets consumed by a packet hook. */
  hookConsumed: number;
}

/** A fresh, zeroed NetStats. */
export function newNetStats(): NetStats {
  return {
    framesIn: 0, framesOut: 0, framesDropped: 0, noMbufs: 0,
    arpIn: 0, arpOut: 0, arpBad: 0, arpDropped: 0,
    ipInReceives: 0, ipInDelivers: 0, ipInHdrErrors: 0, ipInAddrErrors: 0, ipInUnknownProtos: 0,
    ipOutRequests: 0, ipOutNoRoutes: 0, ipReasmReqds: 0, ipReasmOKs: 0, ipReasmFails: 0, ipFragOKs: 0, ipFragCreates: 0,
    icmpIn: 0, icmpOut: 0, icmpInErrors: 0,
    udpInDatagrams: 0, udpNoPorts: 0, udpInErrors: 0, udpRcvbufErrors: 0, udpOutDatagrams: 0,
    tcpInSegs: 0, tcpOutSegs: 0, tcpRetransSegs: 0, tcpInErrs: 0, tcpOutRsts: 0, tcpRstNoListener: 0, tcpRstBadAck: 0,
    tcpActiveOpens: 0, tcpPassiveOpens: 0, tcpAttemptFails: 0, tcpEstabResets: 0, tcpListenOverflows: 0,
    tcpChallengeAcks: 0, tcpChallengeAcksSuppressed: 0, tcpPawsDrops: 0,
    tcpTimeouts: 0, tcpFastRetrans: 0, tcpRecoveries: 0, tcpTsoFrames: 0, tcpTsoBytes: 0,
    channelDelivered: 0, channelRingFull: 0, hookConsumed: 0,
  };
}
