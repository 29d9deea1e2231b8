/**
 * Interrupt handlers by line. Whoever takes this vCPU's pending lines (the
 * idle loop, the I/O wait poller, the scheduler) passes them to
 * `dispatchInterrupts`, so a handler runs whichever loop happens to notice its
 * line. One table per vCPU realm (each vCPU has its own copy of the kernel).
 */

type Handler = () => void;

const handlers: (Handler | undefined)[] = [];

/** Installs the handler for interrupt `line` (0..31), replacing any earlier one. */
export function onInterrupt(line: number, handler: Handler): void {
  if (!(line >= 0 && line < 32)) throw new RangeError(`interrupt line ${line} is not 0..31`);
  handlers[line] = handler;
}

/** Runs the handlers of the lines set in `lines`; lines without a handler are dropped. */
export function dispatchInterrupts(lines: number): void {
  let bits = lines;
  while (bits !== 0) {
    const line = 31 - Math.clz32(bits);
    bits &= ~(1 << line);
    handlers[line]?.();
  }
}
