/**
 * Exit handling details a guest can observe: a posted MMIO write frees the
 * vCPU's slot before the device acts on it (a QueueNotify's whole transmit
 * burst must not hold the vCPU), and a read the vCPU issues afterwards is
 * still served after the write, so it sees the write's effect.
 */
import { describe, expect, it } from 'vitest';
import { EXIT_MMIO_READ, EXIT_MMIO_WRITE, SLOT_DONE, SLOT_FREE, SLOT_POSTED, SLOT_SYNC } from './abi.js';
import { ControlBuffer } from './control.js';
import { ExitServer } from './exitServer.js';
import { MmioBus } from './mmioBus.js';

describe('ExitServer', () => {
  it('frees the slot of a posted write before the device handles it; a later read sees the write', async () => {
    const control = new ControlBuffer(1);
    const i32 = control.i32;
    const w = control.cpu(0);
    const seen: string[] = [];
    let register = 0;
    const bus = new MmioBus();
    const base = bus.attach({
      deviceId: 1,
      kind: 'probe',
      read: () => {
        seen.push(`read sees ${register}`);
        return register;
      },
      write: (_offset, _size, value) => {
        seen.push(`write while slot is ${Atomics.load(i32, w.state) === SLOT_FREE ? 'free' : 'taken'}`);
        // The vCPU, free again, posts its next exit (a read) while the device is still busy here.
        i32[w.kind] = EXIT_MMIO_READ;
        i32[w.addrLo] = base % 2 ** 32;
        i32[w.addrHi] = Math.floor(base / 2 ** 32);
        i32[w.size] = 4;
        Atomics.store(i32, w.state, SLOT_SYNC);
        register = value;
      },
    });
    const server = new ExitServer(control, new Uint8Array(4096), bus, { powerOff: () => {}, consoleWrite: () => {}, panic: () => {} });
    server.start();
    i32[w.kind] = EXIT_MMIO_WRITE;
    i32[w.addrLo] = base % 2 ** 32;
    i32[w.addrHi] = Math.floor(base / 2 ** 32);
    i32[w.size] = 4;
    i32[w.value] = 77;
    Atomics.store(i32, w.state, SLOT_POSTED);
    Atomics.notify(i32, w.state);
    for (let i = 0; i < 200 && Atomics.load(i32, w.state) !== SLOT_DONE; i++) await new Promise((r) => setTimeout(r, 5));
    server.stop();
    expect(seen).toEqual(['write while slot is free', 'read sees 77']);
    expect(i32[w.value]).toBe(77);
  });
});
