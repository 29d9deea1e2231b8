/**
 * CPU profiles of the vCPUs (`osv-run --cpu-prof DIR`): what the guest's
 * JavaScript — kernel, drivers, network stack, program — spends its time on,
 * one `vcpuN.cpuprofile` per vCPU, readable by Chrome DevTools or any
 * .cpuprofile viewer.
 *
 * `node --cpu-prof` cannot do this: it profiles only threads that exit on
 * their own, and the hv terminates its vCPU workers at power-off. Instead the
 * hv talks to each vCPU worker's V8 inspector from its own thread (the
 * NodeWorker domain of an in-process inspector session) and stops the
 * profiler before it terminates the worker. V8 services inspector messages
 * even while the worker is blocked in Atomics.wait, so an idle or halted
 * vCPU answers too.
 */
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { join } from 'node:path';

/** Sampling interval, µs (V8's default is 1000; finer shows short guest paths). */
const SAMPLING_US = 100;
/** How long to wait for a vCPU's profile at shutdown, ms. */
const STOP_TIMEOUT_MS = 5_000;

interface Attached {
  readonly sessionId: string;
  readonly cpu: number;
}

/** Profiles every vCPU worker whose name is `vcpuN`, from attach to `stop()`. */
export class VcpuProfiler {
  private readonly session = new inspector.Session();
  private readonly attached: Attached[] = [];
  private readonly pending = new Map<number, (reply: { result?: unknown; error?: { message: string } }) => void>();
  private nextId = 1;

  /** Starts watching for vCPU workers; profiles are written to `dir` by stop(). */
  constructor(private readonly dir: string) {
    const s = this.session;
    s.connect();
    s.on('NodeWorker.attachedToWorker', (m: { params: { sessionId: string; workerInfo: { title: string } } }) => {
      const match = /\bvcpu(\d+)$/.exec(m.params.workerInfo.title); // "[worker 1] vcpu0"
      if (!match) return;
      const a: Attached = { sessionId: m.params.sessionId, cpu: Number(match[1]) };
      this.attached.push(a);
      void this.send(a, 'Profiler.enable')
        .then(() => this.send(a, 'Profiler.setSamplingInterval', { interval: SAMPLING_US }))
        .then(() => this.send(a, 'Profiler.start'));
    });
    s.on('NodeWorker.receivedMessageFromWorker', (m: { params: { message: string } }) => {
      const reply = JSON.parse(m.params.message) as { id?: number; result?: unknown; error?: { message: string } };
      if (reply.id === undefined) return;
      const done = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      done?.(reply);
    });
    s.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  }

  /** Stops every vCPU's profiler and writes `vcpuN.cpuprofile`; returns the files written. Never throws. */
  async stop(): Promise<string[]> {
    const files: string[] = [];
    await Promise.all(
      this.attached.map(async (a) => {
        try {
          const reply = await Promise.race([
            this.send(a, 'Profiler.stop'),
            new Promise<null>((resolve) => setTimeout(() => resolve(null), STOP_TIMEOUT_MS).unref()),
          ]);
          const profile = (reply?.result as { profile?: unknown } | undefined)?.profile;
          if (profile === undefined) return;
          const file = join(this.dir, `vcpu${a.cpu}.cpuprofile`);
          writeFileSync(file, JSON.stringify(profile));
          files.push(file);
        } catch {
          // A profile that cannot be written is lost; the machine's shutdown goes on.
        }
      }),
    );
    this.session.disconnect();
    return files.sort();
  }

  private send(a: Attached, method: string, params: object = {}): Promise<{ result?: unknown; error?: { message: string } }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.session.post('NodeWorker.sendMessageToWorker', { sessionId: a.sessionId, message: JSON.stringify({ id, method, params }) });
    });
  }
}
