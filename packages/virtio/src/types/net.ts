/**
 * Network device (virtio-v1.2 section 5.1): feature bits, queue indices,
 * configuration space and the per-packet header. Every packet in either
 * direction starts with a virtio_net_hdr; under VIRTIO_F_VERSION_1 it always
 * has num_buffers (12 bytes), and 20 bytes under VIRTIO_NET_F_HASH_REPORT.
 */

import { packed } from '../layout.js';

// Feature bits, 5.1.3.
/** Device handles packets with partial checksum. */
export const VIRTIO_NET_F_CSUM = 0;
/** Driver handles packets with partial checksum. */
export const VIRTIO_NET_F_GUEST_CSUM = 1;
/** Control-queue command to reconfigure receive offloads. */
export const VIRTIO_NET_F_CTRL_GUEST_OFFLOADS = 2;
/** mtu is valid. */
export const VIRTIO_NET_F_MTU = 3;
/** mac is valid. */
export const VIRTIO_NET_F_MAC = 5;
/** Driver can receive TSOv4 (large TCP/IPv4 segments). */
export const VIRTIO_NET_F_GUEST_TSO4 = 7;
/** Driver can receive TSOv6. */
export const VIRTIO_NET_F_GUEST_TSO6 = 8;
/** Driver can receive TSO with ECN. */
export const VIRTIO_NET_F_GUEST_ECN = 9;
/** Driver can receive UFO. */
export const VIRTIO_NET_F_GUEST_UFO = 10;
/** Device can receive TSOv4 from the driver (transmit segmentation offload). */
export const VIRTIO_NET_F_HOST_TSO4 = 11;
/** Device can receive TSOv6. */
export const VIRTIO_NET_F_HOST_TSO6 = 12;
/** Device can receive TSO with ECN. */
export const VIRTIO_NET_F_HOST_ECN = 13;
/** Device can receive UFO. */
export const VIRTIO_NET_F_HOST_UFO = 14;
/** Driver can merge receive buffers. */
export const VIRTIO_NET_F_MRG_RXBUF = 15;
/** status is valid. */
export const VIRTIO_NET_F_STATUS = 16;
/** Control queue present. */
export const VIRTIO_NET_F_CTRL_VQ = 17;
/** Control-queue receive mode (promiscuous, all-multicast) commands. */
export const VIRTIO_NET_F_CTRL_RX = 18;
/** Control-queue VLAN filtering. */
export const VIRTIO_NET_F_CTRL_VLAN = 19;
/** Driver can send gratuitous packets on request. */
export const VIRTIO_NET_F_GUEST_ANNOUNCE = 21;
/** Multiqueue with automatic receive steering. */
export const VIRTIO_NET_F_MQ = 22;
/** MAC address settable through the control queue. */
export const VIRTIO_NET_F_CTRL_MAC_ADDR = 23;
/** Device can receive USO (UDP segmentation offload). */
export const VIRTIO_NET_F_HOST_USO = 56;
/** Device reports a packet hash (20-byte header, VIRTIO_NET_HDR_HASH_LAYOUT). */
export const VIRTIO_NET_F_HASH_REPORT = 57;
/** Driver sets hdr_len exactly. */
export const VIRTIO_NET_F_GUEST_HDRLEN = 59;
/** Receive-side scaling. */
export const VIRTIO_NET_F_RSS = 60;
/** Extended receive-segment-coalescing information. */
export const VIRTIO_NET_F_RSC_EXT = 61;
/** Device may act as a standby for a primary device with the same MAC. */
export const VIRTIO_NET_F_STANDBY = 62;
/** speed and duplex are valid. */
export const VIRTIO_NET_F_SPEED_DUPLEX = 63;

// Bits of the config status field, 5.1.4.
/** The link is up. */
export const VIRTIO_NET_S_LINK_UP = 1;
/** The device asks the driver to announce itself (GUEST_ANNOUNCE). */
export const VIRTIO_NET_S_ANNOUNCE = 2;

// Queue indices of the first queue pair, 5.1.2 (the control queue is 2N under CTRL_VQ).
/** Receive queue of the first pair: the device writes packets into driver buffers. */
export const VIRTIO_NET_RECEIVEQ = 0;
/** Transmit queue of the first pair: the device reads packets from driver buffers. */
export const VIRTIO_NET_TRANSMITQ = 1;

/** struct virtio_net_config, 5.1.4. Device writes, driver reads. */
export const VIRTIO_NET_CONFIG_LAYOUT = packed([
  ['mac', 6], // u8[6] (MAC)
  ['status', 2], // le16 (STATUS) VIRTIO_NET_S_*
  ['max_virtqueue_pairs', 2], // le16 (MQ or RSS)
  ['mtu', 2], // le16 (MTU) bytes
  ['speed', 4], // le32 (SPEED_DUPLEX) Mbit/s, 0xffffffff unknown
  ['duplex', 1], // u8 (SPEED_DUPLEX) 0 half, 1 full, 0xff unknown
  ['rss_max_key_size', 1], // u8 (RSS or HASH_REPORT)
  ['rss_max_indirection_table_length', 2], // le16 (RSS)
  ['supported_hash_types', 4], // le32 (RSS or HASH_REPORT)
] as const);

// Flags of virtio_net_hdr, 5.1.6.
/** Transmit: the device must checksum from csum_start and store at csum_offset. */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
/** Receive: the checksum is already validated. */
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
/** Receive: csum_start/csum_offset carry coalescing information (RSC_EXT). */
export const VIRTIO_NET_HDR_F_RSC_INFO = 4;

// gso_type of virtio_net_hdr, 5.1.6.
/** Not a GSO packet. */
export const VIRTIO_NET_HDR_GSO_NONE = 0;
/** A TCP/IPv4 segment to be split at gso_size. */
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** A UDP datagram to be fragmented (UFO). */
export const VIRTIO_NET_HDR_GSO_UDP = 3;
/** A TCP/IPv6 segment to be split at gso_size. */
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
/** A UDP payload to be split into datagrams (USO). */
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
/** Flag on gso_type: the TCP segment has ECN (CWR) set. */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

/** struct virtio_net_hdr, 5.1.6, as used under VIRTIO_F_VERSION_1 without HASH_REPORT. */
export const VIRTIO_NET_HDR_LAYOUT = packed([
  ['flags', 1], // u8 VIRTIO_NET_HDR_F_*
  ['gso_type', 1], // u8 VIRTIO_NET_HDR_GSO_*
  ['hdr_len', 2], // le16 length of the headers to copy into each segment
  ['gso_size', 2], // le16 payload bytes per segment
  ['csum_start', 2], // le16 where checksumming starts
  ['csum_offset', 2], // le16 where the checksum goes, from csum_start
  ['num_buffers', 2], // le16 buffers this packet spans (MRG_RXBUF; 1 otherwise)
] as const);

/** struct virtio_net_hdr, 5.1.6, with the fields VIRTIO_NET_F_HASH_REPORT adds. */
export const VIRTIO_NET_HDR_HASH_LAYOUT = packed([
  ['flags', 1],
  ['gso_type', 1],
  ['hdr_len', 2],
  ['gso_size', 2],
  ['csum_start', 2],
  ['csum_offset', 2],
  ['num_buffers', 2],
  ['hash_value', 4], // le32
  ['hash_report', 2], // le16 VIRTIO_NET_HASH_REPORT_*
  ['padding_reserved', 2],
] as const);
