/**
 * A device's configuration space as a little-endian byte buffer described by
 * one of the packed() layouts (VIRTIO_BLK_CONFIG_LAYOUT, ...): the storage a
 * VirtioDeviceModel's configRead / configWrite serve from, so device models
 * name fields instead of retyping offsets.
 */

import type { Layout } from '../layout.js';

/** Configuration space storage laid out by `layout`. */
export class ConfigSpace<N extends string> {
  /** The field table. */
  readonly layout: Layout<N>;
  /** The raw bytes, little-endian (virtio-v1.2 2.5). */
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(layout: Layout<N>) {
    this.layout = layout;
    this.bytes = new Uint8Array(layout.SIZE);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Size in bytes: use as VirtioDeviceModel.configSize. */
  get size(): number {
    return this.layout.SIZE;
  }

  /**
   * Sets a 1-, 2-, 4- or 8-byte field. Values are truncated to the field width.
   * @throws RangeError for a field of another width (use setBytes)
   */
  set(name: N, value: number | bigint): void {
    const f = this.layout[name];
    if (f.size === 8) this.view.setBigUint64(f.offset, BigInt.asUintN(64, BigInt(value)), true);
    else this.put(f.offset, f.size, Number(value), name);
  }

  /**
   * Reads a 1-, 2- or 4-byte field as an unsigned number, or an 8-byte field as a bigint.
   * @throws RangeError for a field of another width (read `bytes` instead)
   */
  get(name: N): number | bigint {
    const f = this.layout[name];
    if (f.size === 8) return this.view.getBigUint64(f.offset, true);
    if (f.size === 4) return this.view.getUint32(f.offset, true);
    if (f.size === 2) return this.view.getUint16(f.offset, true);
    if (f.size === 1) return this.view.getUint8(f.offset);
    throw new RangeError(`config field '${name}' is ${f.size} bytes wide; read it from bytes`);
  }

  /** Copies `src` into field `name` (e.g. a MAC address), truncated or zero-padded to the field. */
  setBytes(name: N, src: Uint8Array): void {
    const f = this.layout[name];
    this.bytes.fill(0, f.offset, f.offset + f.size);
    this.bytes.set(src.subarray(0, f.size), f.offset);
  }

  /** Serves a driver read of `size` (1, 2, 4) bytes at `offset`; 0 outside the space. */
  read(offset: number, size: number): number {
    if (!(offset >= 0 && offset + size <= this.layout.SIZE)) return 0;
    if (size === 4) return this.view.getUint32(offset, true);
    if (size === 2) return this.view.getUint16(offset, true);
    return size === 1 ? this.view.getUint8(offset) : 0;
  }

  /** Stores a driver write of `size` (1, 2, 4) bytes at `offset`; ignored outside the space. */
  write(offset: number, size: number, value: number): void {
    if (!(offset >= 0 && offset + size <= this.layout.SIZE)) return;
    if (size === 1 || size === 2 || size === 4) this.put(offset, size, value, 'offset');
  }

  private put(offset: number, size: number, value: number, name: string): void {
    if (size === 4) this.view.setUint32(offset, value >>> 0, true);
    else if (size === 2) this.view.setUint16(offset, value & 0xffff, true);
    else if (size === 1) this.view.setUint8(offset, value & 0xff);
    else throw new RangeError(`config field '${name}' is ${size} bytes wide; use setBytes`);
  }
}
