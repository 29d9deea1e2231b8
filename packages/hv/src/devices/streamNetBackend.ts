/**
 * `--net stream:PATH`: QEMU's stream netdev protocol (4-byte big-endian
 * length, then the Ethernet frame) over a UNIX stream socket the hv connects
 * to as a client, as `qemu -netdev stream,server=off,addr.type=unix` does;
 * passt listens on such a socket.
 *
 * Sending: frames of one burst are framed into one output buffer and handed
 * to the socket with one write at the end of the burst. Node queues what the
 * kernel's socket buffer cannot take (a small buffer just means more, partial
 * writes); past HIGH_WATER queued bytes the backend reports itself congested,
 * the device stops taking frames off the guest's transmit ring, and the
 * 'drain' event lifts it.
 *
 * Receiving: chunks go through StreamFrameDecoder, which copes with frames
 * split and coalesced anyhow. The device pauses the socket when it has no
 * room for frames. A protocol error or a closed socket takes the link down.
 */
import { connect, type Socket } from 'node:net';
import { HvError } from '../errors.js';
import type { NetBackend, NetBackendEvents } from './netBackend.js';
import { STREAM_LENGTH_BYTES, StreamFrameDecoder } from './streamFrameDecoder.js';

/** Longest frame accepted from the peer, bytes: passt's 65520-byte MTU plus headers fits. */
export const STREAM_MAX_FRAME = 65_536 + 1024;
/** Output buffer for one burst of frames, bytes. */
const OUT_BUFFER = 256 * 1024;
/** Queued-but-unsent bytes above which the backend is congested. */
const HIGH_WATER = 1024 * 1024;

/** A stream-protocol peer on a UNIX socket. */
export class StreamNetBackend implements NetBackend {
  readonly description: string;
  /** Frames dropped because the link was down. */
  dropped = 0;
  private socket: Socket;
  private readonly decoder: StreamFrameDecoder;
  private readonly out = new Uint8Array(OUT_BUFFER);
  private outLen = 0;
  private up = true;
  private blocked = false;
  private events: NetBackendEvents | null = null;

  /**
   * Connects to the stream socket at `path`.
   * @throws HvError BAD_OPTION when nothing accepts the connection
   */
  static connect(path: string, log: (message: string) => void): Promise<StreamNetBackend> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      const fail = (e: Error): void => {
        socket.destroy();
        const code = (e as NodeJS.ErrnoException).code ?? e.message;
        reject(new HvError('BAD_OPTION', `--net stream:${path}: cannot connect (${code}) — is the peer (e.g. passt -s ${path}) running?`, { cause: e }));
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        resolve(new StreamNetBackend(socket, path, log));
      });
    });
  }

  private constructor(
    socket: Socket,
    path: string,
    private readonly log: (message: string) => void,
  ) {
    this.socket = socket;
    this.description = `stream:${path}`;
    this.decoder = new StreamFrameDecoder(STREAM_MAX_FRAME, (data, offset, length) => this.events?.frame(data, offset, length));
    socket.pause(); // until a device is attached
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.drained());
    socket.on('error', (e) => this.down(`socket error: ${e.message}`));
    socket.on('close', () => this.down('the peer closed the connection'));
  }

  get linkUp(): boolean {
    return this.up;
  }

  get congested(): boolean {
    return this.blocked;
  }

  attach(events: NetBackendEvents): void {
    this.events = events;
    this.socket.resume();
  }

  send(frame: Uint8Array, offset: number, length: number): boolean {
    if (!this.up) {
      this.dropped++;
      return false;
    }
    if (this.outLen + STREAM_LENGTH_BYTES + length > this.out.length) this.flush();
    if (STREAM_LENGTH_BYTES + length > this.out.length) {
      this.writeOut(frameBytes(frame, offset, length));
      return true;
    }
    const o = this.out;
    let at = this.outLen;
    o[at++] = (length >>> 24) & 0xff;
    o[at++] = (length >>> 16) & 0xff;
    o[at++] = (length >>> 8) & 0xff;
    o[at++] = length & 0xff;
    o.set(frame.subarray(offset, offset + length), at);
    this.outLen = at + length;
    return true;
  }

  flush(): void {
    if (this.outLen === 0 || !this.up) return;
    // A copy: the socket may keep the chunk queued while `out` is refilled.
    const chunk = Buffer.from(this.out.subarray(0, this.outLen));
    this.outLen = 0;
    this.writeOut(chunk);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (this.up) this.socket.resume();
  }

  close(): Promise<void> {
    this.up = false;
    this.outLen = 0;
    return new Promise((resolve) => {
      if (this.socket.destroyed) {
        resolve();
        return;
      }
      this.socket.once('close', () => resolve());
      this.socket.end();
      // A peer that never closes its end must not hold the machine's power-off.
      setTimeout(() => this.socket.destroy(), 200).unref();
    });
  }

  private writeOut(chunk: Uint8Array): void {
    this.socket.write(chunk);
    if (this.socket.writableLength > HIGH_WATER) this.blocked = true;
  }

  private receive(chunk: Buffer): void {
    if (!this.decoder.push(chunk)) {
      this.down(this.decoder.error ?? 'protocol error');
      this.socket.destroy();
    }
  }

  private drained(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.events?.writable();
  }

  private down(reason: string): void {
    if (!this.up) return;
    this.up = false;
    this.blocked = false;
    this.outLen = 0;
    this.log(`${this.description}: link down: ${reason}`);
    this.events?.link(false);
  }
}

/** One frame with its length prefix, for frames too big for the burst buffer. */
function frameBytes(frame: Uint8Array, offset: number, length: number): Uint8Array {
  const b = new Uint8Array(STREAM_LENGTH_BYTES + length);
  new DataView(b.buffer).setUint32(0, length, false);
  b.set(frame.subarray(offset, offset + length), STREAM_LENGTH_BYTES);
  return b;
}
