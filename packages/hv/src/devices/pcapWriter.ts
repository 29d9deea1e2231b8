/**
 * `--net-dump FILE`: every frame a network device sends or receives, written
 * as a classic pcap capture (libpcap format 2.4, link type Ethernet) that
 * tshark, tcpdump and Wireshark read. Records are gathered in a buffer and
 * written when it fills, every FLUSH_MS, and at close, so capturing costs a
 * copy per frame, not a system call.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { packed } from '@osv-ts/virtio';
import { HvError } from '../errors.js';

/** The file's global header (pcap format 2.4), in the writer's byte order (little-endian). */
export const PCAP_GLOBAL_HEADER_LAYOUT = packed([
  ['magic_number', 4], // PCAP_MAGIC: tells readers the byte order and µs timestamps
  ['version_major', 2], // 2
  ['version_minor', 2], // 4
  ['thiszone', 4], // GMT offset, s (always 0)
  ['sigfigs', 4], // timestamp accuracy (always 0)
  ['snaplen', 4], // longest record kept, bytes
  ['network', 4], // link type: LINKTYPE_ETHERNET
] as const);

/** The header before each frame. */
export const PCAP_RECORD_HEADER_LAYOUT = packed([
  ['ts_sec', 4], // seconds since the Unix epoch
  ['ts_usec', 4], // microseconds
  ['incl_len', 4], // bytes of the frame kept in the file
  ['orig_len', 4], // bytes of the frame on the wire
] as const);

/** Magic number of a microsecond-resolution pcap file. */
export const PCAP_MAGIC = 0xa1b2c3d4;
/** Link type of Ethernet frames (IEEE 802.3, without FCS). */
export const LINKTYPE_ETHERNET = 1;
/** Longest frame recorded whole, bytes. */
export const PCAP_SNAPLEN = 65535;

const BUFFER = 256 * 1024;
const FLUSH_MS = 200;
const G = PCAP_GLOBAL_HEADER_LAYOUT;
const R = PCAP_RECORD_HEADER_LAYOUT;

/** A pcap file being written. */
export class PcapWriter {
  /** Frames recorded. */
  records = 0;
  private fd: number;
  private readonly buf = new Uint8Array(BUFFER);
  private readonly view = new DataView(this.buf.buffer);
  private len = 0;
  private readonly timer: NodeJS.Timeout;

  /**
   * Creates (or truncates) `path` and writes the global header.
   * @throws HvError BAD_OPTION when the file cannot be created
   */
  static open(path: string, log: (message: string) => void): PcapWriter {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (e) {
      throw new HvError('BAD_OPTION', `--net-dump ${path}: cannot create it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
    }
    return new PcapWriter(fd, path, log);
  }

  private constructor(
    fd: number,
    readonly path: string,
    private readonly log: (message: string) => void,
  ) {
    this.fd = fd;
    const v = this.view;
    v.setUint32(G.magic_number.offset, PCAP_MAGIC, true);
    v.setUint16(G.version_major.offset, 2, true);
    v.setUint16(G.version_minor.offset, 4, true);
    v.setInt32(G.thiszone.offset, 0, true);
    v.setUint32(G.sigfigs.offset, 0, true);
    v.setUint32(G.snaplen.offset, PCAP_SNAPLEN, true);
    v.setUint32(G.network.offset, LINKTYPE_ETHERNET, true);
    this.len = G.SIZE;
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** Records one frame (`data[offset, offset+length)`), time-stamped now. */
  record(data: Uint8Array, offset: number, length: number): void {
    if (this.fd < 0) return;
    const kept = Math.min(length, PCAP_SNAPLEN);
    if (this.len + R.SIZE + kept > BUFFER) this.flush();
    if (R.SIZE + kept > BUFFER || this.fd < 0) return;
    const ms = performance.timeOrigin + performance.now();
    const sec = Math.floor(ms / 1000);
    const v = this.view;
    const at = this.len;
    v.setUint32(at + R.ts_sec.offset, sec, true);
    v.setUint32(at + R.ts_usec.offset, Math.min(999_999, Math.floor((ms - sec * 1000) * 1000)), true);
    v.setUint32(at + R.incl_len.offset, kept, true);
    v.setUint32(at + R.orig_len.offset, length, true);
    this.buf.set(data.subarray(offset, offset + kept), at + R.SIZE);
    this.len = at + R.SIZE + kept;
    this.records++;
  }

  /** Writes what is buffered. A write error is logged once and ends the capture. */
  flush(): void {
    if (this.fd < 0 || this.len === 0) return;
    try {
      for (let done = 0; done < this.len; ) done += writeSync(this.fd, this.buf, done, this.len - done);
    } catch (e) {
      this.log(`--net-dump ${this.path}: write failed, capture stopped (${(e as Error).message})`);
      this.stop();
    }
    this.len = 0;
  }

  /** Writes what is left and closes the file. */
  close(): void {
    this.flush();
    this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      try {
        closeSync(fd);
      } catch {
        // Already unusable; nothing more to save.
      }
    }
  }
}
