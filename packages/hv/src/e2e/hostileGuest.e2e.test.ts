/**
 * A hostile guest in a real machine: a "kernel" of a few lines written
 * straight against the hardware ABI programs the virtio-blk device through
 * VM exits and hands it garbage — a descriptor pointing outside guest memory
 * (a ring violation), then a request without a status byte (a request
 * violation). Each time the device must answer DEVICE_NEEDS_RESET, the hv
 * must log why and keep running, and after a reset the device must serve a
 * well-formed request again. The machine powers off normally.
 */
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VIRTIO_MMIO_LAYOUT as R, virtqAvailLayout, virtqUsedLayout } from '@osv-ts/virtio';
import { describe, expect, it } from 'vitest';
import { BOOT_PARAMS_ADDR, BOOT_PARAMS_LAYOUT as B, DEVICE_ENTRY_LAYOUT as D } from '../abi.js';
import { Machine } from '../machine.js';
import { rawKernelImage, rawKernelSource } from '../testing/rawKernel.js';

const Q = 8;
const DESC = 0x200000;
const AVAIL = DESC + 16 * Q;
const USED = 0x201000;
const BUF = 0x202000;

const body = `
  const dv = new DataView(hw.memory);
  const count = dv.getUint32(${BOOT_PARAMS_ADDR + B.deviceCount.offset}, true);
  let win = -1;
  for (let i = 0; i < count; i++) {
    const at = ${BOOT_PARAMS_ADDR + B.devices.offset} + i * ${D.SIZE};
    if (dv.getUint32(at + ${D.deviceId.offset}, true) === 2) win = dv.getUint32(at, true) + dv.getUint32(at + 4, true) * 4294967296;
  }
  const reg = (off, v) => mmioWrite(win + off, v);
  const status = () => mmioRead(win + ${R.Status.offset});
  function init() {
    reg(${R.Status.offset}, 0); reg(${R.Status.offset}, 1); reg(${R.Status.offset}, 3);
    reg(${R.DriverFeaturesSel.offset}, 0); reg(${R.DriverFeatures.offset}, 0);
    reg(${R.DriverFeaturesSel.offset}, 1); reg(${R.DriverFeatures.offset}, 1); // VIRTIO_F_VERSION_1 only
    reg(${R.Status.offset}, 11);
    for (let i = 0; i < 0x2000; i++) mem[${DESC} + i] = 0;
    reg(${R.QueueSel.offset}, 0); reg(${R.QueueNum.offset}, ${Q});
    reg(${R.QueueDescLow.offset}, ${DESC}); reg(${R.QueueDescHigh.offset}, 0);
    reg(${R.QueueDriverLow.offset}, ${AVAIL}); reg(${R.QueueDriverHigh.offset}, 0);
    reg(${R.QueueDeviceLow.offset}, ${USED}); reg(${R.QueueDeviceHigh.offset}, 0);
    reg(${R.QueueReady.offset}, 1);
    reg(${R.Status.offset}, 15);
  }
  function desc(i, addr, len, flags, next) {
    const at = ${DESC} + 16 * i;
    dv.setUint32(at, addr % 4294967296, true); dv.setUint32(at + 4, Math.floor(addr / 4294967296), true);
    dv.setUint32(at + 8, len, true); dv.setUint16(at + 12, flags, true); dv.setUint16(at + 14, next, true);
  }
  function publish(head) {
    const idx = dv.getUint16(${AVAIL + virtqAvailLayout(Q).idx.offset}, true);
    dv.setUint16(${AVAIL + virtqAvailLayout(Q).ring.offset} + 2 * (idx % ${Q}), head, true);
    dv.setUint16(${AVAIL + virtqAvailLayout(Q).idx.offset}, (idx + 1) & 0xffff, true);
    reg(${R.QueueNotify.offset}, 0);
  }
  const out = {};
  init();
  // 1. A ring violation: the data buffer lies at 2^40, far outside guest memory.
  dv.setUint32(${BUF}, 0, true);
  desc(0, ${BUF}, 16, 1, 1); desc(1, 2 ** 40, 512, 3, 2); desc(2, ${BUF + 64}, 1, 2, 0);
  publish(0);
  out.outsideMemory = status();
  // 2. A request violation: a header and no status byte.
  init();
  desc(0, ${BUF}, 16, 0, 0);
  publish(0);
  out.noStatus = status();
  // 3. After a reset, GET_ID works.
  init();
  dv.setUint32(${BUF}, 8, true);
  desc(0, ${BUF}, 16, 1, 1); desc(1, ${BUF + 32}, 20, 3, 2); desc(2, ${BUF + 64}, 1, 2, 0);
  mem[${BUF + 64}] = 0xee;
  publish(0);
  for (let i = 0; i < 1000 && dv.getUint16(${USED + virtqUsedLayout(Q).idx.offset}, true) === 0; i++) Atomics.wait(ctl, 0, ctl[0], 1);
  out.afterReset = status();
  out.getIdStatus = mem[${BUF + 64}];
  out.id = String.fromCharCode(...mem.subarray(${BUF + 32}, ${BUF + 39}));
  print(JSON.stringify(out) + '\\n');
  powerOff(0);
`;

describe('a hostile guest in a real machine', () => {
  it('gets DEVICE_NEEDS_RESET with a logged reason for ring and request violations, and a working device after a reset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osv-hostile-'));
    const disk = join(dir, 'd.img');
    writeFileSync(disk, '');
    truncateSync(disk, 1 << 20);
    const logs: string[] = [];
    const m = await Machine.boot({ image: rawKernelImage(rawKernelSource(body)), imageName: 'hostile.img', disks: [`${disk},serial=hostile`], log: (l) => logs.push(l) });
    let out = '';
    m.console.on('data', (c: Buffer) => (out += c.toString()));
    const exit = await m.wait();
    expect(exit).toEqual({ code: 0, reason: 'poweroff' });
    const r = JSON.parse(out.trim()) as Record<string, number | string>;
    const NEEDS_RESET = 0x40;
    expect(Number(r['outsideMemory']) & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(Number(r['noStatus']) & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(Number(r['afterReset']) & NEEDS_RESET).toBe(0);
    expect(r['getIdStatus']).toBe(0);
    expect(r['id']).toBe('hostile');
    const log = logs.join('\n');
    expect(log).toMatch(/block: device needs reset: queue 0: descriptor 1 of chain 0: buffer 0x10000000000\+512 lies outside guest memory/);
    expect(log).toMatch(/block: device needs reset: request at head 0 lacks a device-writable status byte/);
  });
});
