/**
 * The early console: text goes straight to the hv through the
 * HC_CONSOLE_WRITE hypercall, staged in one page of guest memory. Slow (one
 * synchronous VM exit per page of output) but needs no driver, so the kernel
 * can speak before its devices are up and after they have failed.
 */
import type { Cpu } from '../arch/cpu.js';
import { encodeUtf8Into } from './utf8Out.js';
import type { ConsoleSink } from './kernelConsole.js';

/** A ConsoleSink over the console hypercall. */
export class EarlyConsole implements ConsoleSink {
  private readonly page: Uint8Array;

  /** `stagingAddr`: physical address of `stagingBytes` bytes this console owns. */
  constructor(
    private readonly cpu: Cpu,
    private readonly stagingAddr: number,
    stagingBytes: number,
  ) {
    this.page = new Uint8Array(cpu.hw.memory, stagingAddr, stagingBytes);
  }

  write(text: string): void {
    let from = 0;
    while (from < text.length) {
      const { read, written } = encodeUtf8Into(text, from, this.page);
      this.cpu.consoleWrite(this.stagingAddr, written);
      from += read;
    }
  }
}
