/** The UDP header (RFC 768, "Format"). */
import { packed } from './layout.js';

/** UDP header, 8 bytes. */
export const UDP_HEADER = packed([
  ['sport', 2],
  ['dport', 2],
  ['length', 2], // header plus data, bytes
  ['checksum', 2], // 0 means "not computed" over IPv4
]);

/** UDP header length, bytes. */
export const UDP_HDR_LEN = UDP_HEADER.SIZE;
/** Offset of `sport` in UDP_HEADER. */
export const UH_SPORT = UDP_HEADER.sport.offset;
/** Offset of `dport` in UDP_HEADER. */
export const UH_DPORT = UDP_HEADER.dport.offset;
/** Offset of `length` in UDP_HEADER. */
export const UH_ULEN = UDP_HEADER.length.offset;
/** Offset of `checksum` in UDP_HEADER. */
export const UH_SUM = UDP_HEADER.checksum.offset;
