/**
 * Test support: reads a classic pcap file (format 2.4, either byte order,
 * microsecond or nanosecond timestamps) into its frames, checking every
 * length against the file, so tests can see what `--net-dump` wrote without
 * trusting the writer's own code.
 */

/** One captured frame. */
export interface PcapRecord {
  /** Seconds + fraction since the Unix epoch. */
  readonly time: number;
  readonly origLen: number;
  readonly data: Uint8Array;
}

/** A parsed capture. */
export interface PcapFile {
  readonly linkType: number;
  readonly snaplen: number;
  readonly records: readonly PcapRecord[];
}

/** Parses `bytes`; throws Error naming the problem for anything that is not a well-formed capture. */
export function readPcap(bytes: Uint8Array): PcapFile {
  if (bytes.length < 24) throw new Error('pcap: shorter than the 24-byte global header');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = v.getUint32(0, true);
  let le: boolean;
  let nanos = false;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nanos = magicLe === 0xa1b23c4d;
  } else if (v.getUint32(0, false) === 0xa1b2c3d4 || v.getUint32(0, false) === 0xa1b23c4d) {
    le = false;
    nanos = v.getUint32(0, false) === 0xa1b23c4d;
  } else throw new Error(`pcap: bad magic 0x${magicLe.toString(16)}`);
  if (v.getUint16(4, le) !== 2 || v.getUint16(6, le) !== 4) throw new Error('pcap: not version 2.4');
  const snaplen = v.getUint32(16, le);
  const linkType = v.getUint32(20, le);
  const records: PcapRecord[] = [];
  for (let at = 24; at < bytes.length; ) {
    if (at + 16 > bytes.length) throw new Error(`pcap: record header at ${at} is cut off`);
    const sec = v.getUint32(at, le);
    const frac = v.getUint32(at + 4, le);
    const incl = v.getUint32(at + 8, le);
    const orig = v.getUint32(at + 12, le);
    if (incl > snaplen || incl > orig) throw new Error(`pcap: record at ${at} keeps ${incl} of ${orig} bytes with snaplen ${snaplen}`);
    if (at + 16 + incl > bytes.length) throw new Error(`pcap: record at ${at} is cut off`);
    records.push({ time: sec + frac / (nanos ? 1e9 : 1e6), origLen: orig, data: bytes.slice(at + 16, at + 16 + incl) });
    at += 16 + incl;
  }
  return { linkType, snaplen, records };
}
