/**
 * Test support: images whose "kernel" is a few lines of JavaScript written
 * straight against the hardware ABI, so the hv can be tested without the real
 * kernel (and so a test can behave like a hostile guest).
 */
import type { Field } from '@osv-ts/virtio';
import * as abi from '../abi.js';
import { writeImage } from '../image.js';

/**
 * Source of a kernel bundle whose entry point runs `body` on vCPU 0 with these
 * in scope: `hw`, `ctl` (Int32Array over the control buffer), `mem`
 * (Uint8Array over guest memory), `print(text)` (ASCII, early console),
 * `powerOff(code)`, `hypercall(nr, a0, a1, a2)`, `mmioRead(addr)`,
 * `mmioWrite(addr, value)`. Other vCPUs run `secondary` (default: halt).
 */
export function rawKernelSource(body: string, secondary = 'for (;;) Atomics.wait(ctl, 0, ctl[0]);'): string {
  return `globalThis.${abi.KERNEL_ENTRY_GLOBAL} = function (hw) {
  'use strict';
  const ctl = new Int32Array(hw.control);
  const mem = new Uint8Array(hw.memory);
  const base = ${abi.CPU_BLOCKS_WORD} + hw.cpu * ${abi.CPU_BLOCK_WORDS};
  const W = ${JSON.stringify(Object.fromEntries(Object.entries(abi.CPU_BLOCK_LAYOUT).filter(([k]) => k !== 'SIZE').map(([k, f]) => [k, (f as Field).offset])))};
  function exit(kind, lo, hi, size, value, sync, a0, a1, a2) {
    while (Atomics.load(ctl, base + W.EXIT_STATE) !== ${abi.SLOT_FREE}) Atomics.wait(ctl, base + W.EXIT_STATE, Atomics.load(ctl, base + W.EXIT_STATE), 20);
    ctl[base + W.EXIT_KIND] = kind; ctl[base + W.EXIT_ADDR_LO] = lo; ctl[base + W.EXIT_ADDR_HI] = hi;
    ctl[base + W.EXIT_SIZE] = size; ctl[base + W.EXIT_VALUE] = value;
    ctl[base + W.ARG0] = a0 | 0; ctl[base + W.ARG1] = a1 | 0; ctl[base + W.ARG2] = a2 | 0;
    Atomics.store(ctl, base + W.EXIT_STATE, sync ? ${abi.SLOT_SYNC} : ${abi.SLOT_POSTED});
    Atomics.notify(ctl, base + W.EXIT_STATE);
    if (!sync) return 0;
    while (Atomics.load(ctl, base + W.EXIT_STATE) !== ${abi.SLOT_DONE}) Atomics.wait(ctl, base + W.EXIT_STATE, ${abi.SLOT_SYNC}, 20);
    const v = ctl[base + W.EXIT_VALUE];
    Atomics.store(ctl, base + W.EXIT_STATE, ${abi.SLOT_FREE});
    return v;
  }
  function hypercall(nr, a0, a1, a2) { return exit(${abi.EXIT_HYPERCALL}, nr, 0, 0, 0, true, a0, a1, a2); }
  function mmioRead(addr) { return exit(${abi.EXIT_MMIO_READ}, addr % 4294967296, Math.floor(addr / 4294967296), 4, 0, true) >>> 0; }
  function mmioWrite(addr, value) { exit(${abi.EXIT_MMIO_WRITE}, addr % 4294967296, Math.floor(addr / 4294967296), 4, value, false); }
  function print(text) {
    const at = 0x8000;
    for (let i = 0; i < text.length; i++) mem[at + i] = text.charCodeAt(i) & 0x7f;
    hypercall(${abi.HC_CONSOLE_WRITE}, at, text.length, 0);
  }
  function powerOff(code) { hypercall(${abi.HC_POWER_OFF}, code, 0, 0); }
  if (hw.cpu !== 0) { ${secondary} return; }
  ${body}
};
`;
}

/** An image around a raw kernel (the rootfs is a few zero bytes; the hv never parses it). */
export function rawKernelImage(kernelSource: string, cmdline = '/none'): Uint8Array {
  return writeImage(
    {
      kernel: kernelSource,
      rootfs: new Uint8Array(64),
      cmdline,
      manifest: {
        format: 1,
        app: { name: 'raw', version: '0.0.0', entry: '/none' },
        modules: [],
        requires: { devices: [], memory: 16 * 2 ** 20, cpus: 1 },
      },
    },
    { name: 'hv-tests', version: '0.0.0' },
  );
}
