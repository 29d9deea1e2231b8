/**
 * Console device (virtio-v1.2 section 5.3): feature bits, queue indices,
 * configuration space and the multiport control message. osv-ts drives the
 * single-port form (queues 0 and 1); the multiport constants are here so a
 * device can name what it refuses.
 */

import { packed } from '../layout.js';

/** Configuration space has valid cols and rows (5.3.3). */
export const VIRTIO_CONSOLE_F_SIZE = 0;
/** Multiple ports and control queues (5.3.3). */
export const VIRTIO_CONSOLE_F_MULTIPORT = 1;
/** The device supports emergency writes through emerg_wr (5.3.3). */
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 2;

/** Port 0 receive queue: the device writes input into driver buffers (5.3.2). */
export const VIRTIO_CONSOLE_RECEIVEQ = 0;
/** Port 0 transmit queue: the device reads output from driver buffers (5.3.2). */
export const VIRTIO_CONSOLE_TRANSMITQ = 1;
/** Control receive queue (MULTIPORT only). */
export const VIRTIO_CONSOLE_CONTROL_RECEIVEQ = 2;
/** Control transmit queue (MULTIPORT only). */
export const VIRTIO_CONSOLE_CONTROL_TRANSMITQ = 3;

/** struct virtio_console_config, 5.3.4. Device writes, driver reads (emerg_wr: driver writes). */
export const VIRTIO_CONSOLE_CONFIG_LAYOUT = packed([
  ['cols', 2], // le16 columns (SIZE)
  ['rows', 2], // le16 rows (SIZE)
  ['max_nr_ports', 4], // le32 (MULTIPORT)
  ['emerg_wr', 4], // le32 (EMERG_WRITE) the driver writes one character here
] as const);

/** struct virtio_console_control, 5.3.6.2: a control-queue message (MULTIPORT). */
export const VIRTIO_CONSOLE_CONTROL_LAYOUT = packed([
  ['id', 4], // le32 port number
  ['event', 2], // le16 VIRTIO_CONSOLE_* event
  ['value', 2], // le16 extra information
] as const);

/** Control event (5.3.6.2), driver to device: the driver is ready (value 1) or failed (0). */
export const VIRTIO_CONSOLE_DEVICE_READY = 0;
/** Device to driver: a port was added. */
export const VIRTIO_CONSOLE_DEVICE_ADD = 1;
/** Device to driver: a port was removed. */
export const VIRTIO_CONSOLE_DEVICE_REMOVE = 2;
/** Driver to device: the port is ready (value 1) or failed (0). */
export const VIRTIO_CONSOLE_PORT_READY = 3;
/** Device to driver: this port is a console. */
export const VIRTIO_CONSOLE_CONSOLE_PORT = 4;
/** Device to driver: the console was resized. */
export const VIRTIO_CONSOLE_RESIZE = 5;
/** Either way: the port was opened (value 1) or closed (0). */
export const VIRTIO_CONSOLE_PORT_OPEN = 6;
/** Device to driver: the port has a name (sent in the buffer). */
export const VIRTIO_CONSOLE_PORT_NAME = 7;
