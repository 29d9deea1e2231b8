/**
 * The console guest code gets: `console.log` and friends, formatted as Node
 * formats them, written to the machine's console device. Everything goes to the
 * one console (a unikernel has one terminal); warn and error are not
 * distinguished from log, as on a serial console.
 */
import { format } from './format.js';

/** Where console text goes: the early hypercall console, then the virtio console driver. */
export interface ConsoleSink {
  /** Writes text; returns when the bytes are handed to the device (not necessarily shown). */
  write(text: string): void;
}

/** A `console` object over a switchable sink. */
export class KernelConsole {
  private sink: ConsoleSink;
  private indent = '';
  private readonly counts = new Map<string, number>();
  private readonly timers = new Map<string, number>();

  constructor(
    sink: ConsoleSink,
    private readonly nowNs: () => number,
  ) {
    this.sink = sink;
  }

  /** Switches output to a new sink (the virtio driver once it is up). */
  setSink(sink: ConsoleSink): void {
    this.sink = sink;
  }

  /** Writes raw text with no newline or formatting. */
  write(text: string): void {
    this.sink.write(text);
  }

  private line(args: readonly unknown[]): void {
    const text = format(args);
    this.sink.write(this.indent ? `${this.indent}${text.replace(/\n/g, `\n${this.indent}`)}\n` : `${text}\n`);
  }

  log = (...args: unknown[]): void => this.line(args);
  info = (...args: unknown[]): void => this.line(args);
  debug = (...args: unknown[]): void => this.line(args);
  warn = (...args: unknown[]): void => this.line(args);
  error = (...args: unknown[]): void => this.line(args);
  dir = (value: unknown): void => this.line([value]);
  trace = (...args: unknown[]): void => {
    const stack = (new Error().stack ?? '').split('\n').slice(2).join('\n');
    this.line([`Trace: ${format(args)}\n${stack}`]);
  };
  assert = (ok: unknown, ...args: unknown[]): void => {
    if (!ok) this.line(['Assertion failed' + (args.length ? `: ${format(args)}` : '')]);
  };
  group = (...args: unknown[]): void => {
    if (args.length) this.line(args);
    this.indent += '  ';
  };
  groupEnd = (): void => {
    this.indent = this.indent.slice(2);
  };
  count = (label = 'default'): void => {
    const n = (this.counts.get(label) ?? 0) + 1;
    this.counts.set(label, n);
    this.line([`${label}: ${n}`]);
  };
  time = (label = 'default'): void => {
    this.timers.set(label, this.nowNs());
  };
  timeEnd = (label = 'default'): void => {
    const t = this.timers.get(label);
    if (t === undefined) return;
    this.timers.delete(label);
    this.line([`${label}: ${((this.nowNs() - t) / 1e6).toFixed(3)}ms`]);
  };
}
