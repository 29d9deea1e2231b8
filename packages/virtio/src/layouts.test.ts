import { describe, expect, it } from 'vitest';
import {
  VIRTIO_BLK_CONFIG_LAYOUT,
  VIRTIO_BLK_DISCARD_WRITE_ZEROES_LAYOUT,
  VIRTIO_BLK_REQ_LAYOUT,
  VIRTIO_BLK_REQ_STATUS_LAYOUT,
  VIRTIO_CONSOLE_CONFIG_LAYOUT,
  VIRTIO_CONSOLE_CONTROL_LAYOUT,
  VIRTIO_MMIO_LAYOUT,
  VIRTIO_NET_CONFIG_LAYOUT,
  VIRTIO_NET_HDR_HASH_LAYOUT,
  VIRTIO_NET_HDR_LAYOUT,
  VIRTQ_DESC_LAYOUT,
  VIRTQ_USED_ELEM_LAYOUT,
  virtqAvailLayout,
  virtqLayout,
  virtqUsedLayout,
  VIRTIO_MMIO_MAGIC_VALUE,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_VERSION_1,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_ID_NET,
  VIRTIO_ID_BLOCK,
  VIRTIO_ID_CONSOLE,
  VIRTIO_ID_ENTROPY,
  featureBit,
  featureWord,
  hasFeature,
} from './index.js';

/** [name, offset, size] for every field of `l`, in declaration order. */
function fields(l: object): [string, number, number][] {
  return Object.entries(l)
    .filter(([k]) => k !== 'SIZE')
    .map(([k, f]) => [k, (f as { offset: number }).offset, (f as { size: number }).size]);
}

describe('virtqueue layouts (virtio-v1.2 2.7)', () => {
  it('2.7.5 struct virtq_desc is 16 bytes: addr@0 u64, len@8 u32, flags@12 u16, next@14 u16', () => {
    expect(fields(VIRTQ_DESC_LAYOUT)).toEqual([
      ['addr', 0, 8],
      ['len', 8, 4],
      ['flags', 12, 2],
      ['next', 14, 2],
    ]);
    expect(VIRTQ_DESC_LAYOUT.SIZE).toBe(16);
  });

  it('2.7.8 struct virtq_used_elem is 8 bytes: id@0 u32, len@4 u32', () => {
    expect(fields(VIRTQ_USED_ELEM_LAYOUT)).toEqual([
      ['id', 0, 4],
      ['len', 4, 4],
    ]);
  });

  it('2.7.6 struct virtq_avail is 6 + 2N bytes with used_event after ring[N]', () => {
    for (const n of [1, 2, 256, 32768]) {
      const a = virtqAvailLayout(n);
      expect(fields(a)).toEqual([
        ['flags', 0, 2],
        ['idx', 2, 2],
        ['ring', 4, 2 * n],
        ['used_event', 4 + 2 * n, 2],
      ]);
      expect(a.SIZE).toBe(6 + 2 * n);
    }
  });

  it('2.7.8 struct virtq_used is 6 + 8N bytes with avail_event after ring[N]', () => {
    for (const n of [1, 2, 256, 32768]) {
      const u = virtqUsedLayout(n);
      expect(fields(u)).toEqual([
        ['flags', 0, 2],
        ['idx', 2, 2],
        ['ring', 4, 8 * n],
        ['avail_event', 4 + 8 * n, 2],
      ]);
      expect(u.SIZE).toBe(6 + 8 * n);
    }
  });

  it('2.7 part sizes and alignments (16 / 2 / 4) of a contiguous queue', () => {
    for (let n = 1; n <= 32768; n *= 2) {
      const l = virtqLayout(n);
      expect(l.desc).toEqual({ offset: 0, size: 16 * n, align: 16 });
      expect(l.avail.offset).toBe(16 * n);
      expect(l.avail.size).toBe(6 + 2 * n);
      expect(l.avail.align).toBe(2);
      expect(l.used.offset % 4).toBe(0);
      expect(l.used.offset).toBeGreaterThanOrEqual(l.avail.offset + l.avail.size);
      expect(l.used.offset - (l.avail.offset + l.avail.size)).toBeLessThan(4);
      expect(l.used.size).toBe(6 + 8 * n);
      expect(l.totalSize).toBe(l.used.offset + l.used.size);
    }
  });

  it('2.7 rejects queue sizes that are not powers of two up to 32768', () => {
    for (const n of [0, 3, 100, 65536, -1, 1.5, NaN]) expect(() => virtqLayout(n)).toThrow(RangeError);
  });
});

describe('virtio-mmio register layout (virtio-v1.2 4.2.2)', () => {
  it('4.2.2 every register sits at the offset of the spec table', () => {
    const expected: [string, number][] = [
      ['MagicValue', 0x000],
      ['Version', 0x004],
      ['DeviceID', 0x008],
      ['VendorID', 0x00c],
      ['DeviceFeatures', 0x010],
      ['DeviceFeaturesSel', 0x014],
      ['DriverFeatures', 0x020],
      ['DriverFeaturesSel', 0x024],
      ['QueueSel', 0x030],
      ['QueueNumMax', 0x034],
      ['QueueNum', 0x038],
      ['QueueReady', 0x044],
      ['QueueNotify', 0x050],
      ['InterruptStatus', 0x060],
      ['InterruptACK', 0x064],
      ['Status', 0x070],
      ['QueueDescLow', 0x080],
      ['QueueDescHigh', 0x084],
      ['QueueDriverLow', 0x090],
      ['QueueDriverHigh', 0x094],
      ['QueueDeviceLow', 0x0a0],
      ['QueueDeviceHigh', 0x0a4],
      ['SHMSel', 0x0ac],
      ['SHMLenLow', 0x0b0],
      ['SHMLenHigh', 0x0b4],
      ['SHMBaseLow', 0x0b8],
      ['SHMBaseHigh', 0x0bc],
      ['QueueReset', 0x0c0],
      ['ConfigGeneration', 0x0fc],
      ['Config', 0x100],
    ];
    const layout = VIRTIO_MMIO_LAYOUT as unknown as Record<string, { offset: number; size: number }>;
    for (const [name, offset] of expected) {
      expect([name, layout[name]?.offset]).toEqual([name, offset]);
      if (name !== 'Config') expect([name, layout[name]?.size]).toEqual([name, 4]);
    }
    expect(VIRTIO_MMIO_LAYOUT.SIZE).toBe(0x1000);
  });

  it('4.2.2 only reserved fields fill the gaps between registers', () => {
    const named = fields(VIRTIO_MMIO_LAYOUT).filter(([n]) => !n.startsWith('reserved'));
    expect(named).toHaveLength(30);
    expect(VIRTIO_MMIO_MAGIC_VALUE).toBe(0x74726976);
    // 'virt' in little-endian byte order
    expect([...'virt'].map((c) => c.charCodeAt(0)).reduce((v, b, i) => v + b * 256 ** i, 0)).toBe(VIRTIO_MMIO_MAGIC_VALUE);
  });
});

describe('device type layouts (virtio-v1.2 5)', () => {
  it('5.3.4 struct virtio_console_config: cols, rows, max_nr_ports, emerg_wr (12 bytes)', () => {
    expect(fields(VIRTIO_CONSOLE_CONFIG_LAYOUT)).toEqual([
      ['cols', 0, 2],
      ['rows', 2, 2],
      ['max_nr_ports', 4, 4],
      ['emerg_wr', 8, 4],
    ]);
    expect(VIRTIO_CONSOLE_CONTROL_LAYOUT.SIZE).toBe(8);
  });

  it('5.2.4 struct virtio_blk_config offsets', () => {
    const b = VIRTIO_BLK_CONFIG_LAYOUT;
    expect([b.capacity.offset, b.size_max.offset, b.seg_max.offset, b.cylinders.offset, b.heads.offset, b.sectors.offset]).toEqual([0, 8, 12, 16, 18, 19]);
    expect([b.blk_size.offset, b.physical_block_exp.offset, b.alignment_offset.offset, b.min_io_size.offset, b.opt_io_size.offset]).toEqual([20, 24, 25, 26, 28]);
    expect([b.writeback.offset, b.num_queues.offset, b.max_discard_sectors.offset, b.max_discard_seg.offset, b.discard_sector_alignment.offset]).toEqual([32, 34, 36, 40, 44]);
    expect([b.max_write_zeroes_sectors.offset, b.max_write_zeroes_seg.offset, b.write_zeroes_may_unmap.offset]).toEqual([48, 52, 56]);
    expect([b.max_secure_erase_sectors.offset, b.max_secure_erase_seg.offset, b.secure_erase_sector_alignment.offset, b.SIZE]).toEqual([60, 64, 68, 72]);
  });

  it('5.2.6 struct virtio_blk_req header (16 bytes), status trailer (1 byte), discard segment (16 bytes)', () => {
    expect(fields(VIRTIO_BLK_REQ_LAYOUT)).toEqual([
      ['type', 0, 4],
      ['reserved', 4, 4],
      ['sector', 8, 8],
    ]);
    expect(VIRTIO_BLK_REQ_STATUS_LAYOUT.SIZE).toBe(1);
    expect(fields(VIRTIO_BLK_DISCARD_WRITE_ZEROES_LAYOUT)).toEqual([
      ['sector', 0, 8],
      ['num_sectors', 8, 4],
      ['flags', 12, 4],
    ]);
  });

  it('5.1.4 struct virtio_net_config offsets (24 bytes)', () => {
    const n = VIRTIO_NET_CONFIG_LAYOUT;
    expect([n.mac.offset, n.mac.size, n.status.offset, n.max_virtqueue_pairs.offset, n.mtu.offset, n.speed.offset]).toEqual([0, 6, 6, 8, 10, 12]);
    expect([n.duplex.offset, n.rss_max_key_size.offset, n.rss_max_indirection_table_length.offset, n.supported_hash_types.offset, n.SIZE]).toEqual([16, 17, 18, 20, 24]);
  });

  it('5.1.6 struct virtio_net_hdr is 12 bytes (20 with HASH_REPORT)', () => {
    const h = VIRTIO_NET_HDR_LAYOUT;
    expect([h.flags.offset, h.gso_type.offset, h.hdr_len.offset, h.gso_size.offset, h.csum_start.offset, h.csum_offset.offset, h.num_buffers.offset, h.SIZE]).toEqual([0, 1, 2, 4, 6, 8, 10, 12]);
    const x = VIRTIO_NET_HDR_HASH_LAYOUT;
    expect([x.hash_value.offset, x.hash_report.offset, x.padding_reserved.offset, x.SIZE]).toEqual([12, 16, 18, 20]);
  });
});

describe('constants (virtio-v1.2 2.1, 5, 6)', () => {
  it('2.1 device status bits', () => {
    expect([VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FEATURES_OK]).toEqual([1, 2, 4, 8]);
    expect([VIRTIO_CONFIG_S_DEVICE_NEEDS_RESET, VIRTIO_CONFIG_S_FAILED]).toEqual([64, 128]);
  });
  it('5 device IDs', () => {
    expect([VIRTIO_ID_NET, VIRTIO_ID_BLOCK, VIRTIO_ID_CONSOLE, VIRTIO_ID_ENTROPY]).toEqual([1, 2, 3, 4]);
  });
  it('6 reserved feature bits and 64-bit feature helpers', () => {
    expect([VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX, VIRTIO_F_VERSION_1]).toEqual([28, 29, 32]);
    const f = featureBit(VIRTIO_F_VERSION_1) | featureBit(VIRTIO_F_EVENT_IDX) | featureBit(63);
    expect(featureWord(f, 0)).toBe(1 << 29);
    expect(featureWord(f, 1)).toBe((1 | 2 ** 31) >>> 0);
    expect(featureWord(f, 2)).toBe(0);
    expect(hasFeature(f, 32) && hasFeature(f, 63) && !hasFeature(f, 28)).toBe(true);
    expect(() => featureBit(64)).toThrow(RangeError);
  });
});
