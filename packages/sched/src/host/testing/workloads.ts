/**
 * Test and benchmark workloads that run one CPU per worker thread over a
 * shared scheduler area (the setting of real vCPUs, without the hv). Each
 * function is the whole life of one worker's CPU; the parent formats the
 * areas, starts one worker per CPU and checks what they report.
 *
 * `test` is a second SharedArrayBuffer (an Int32Array view) for the
 * workload's own words, laid out by TEST_WORDS.
 */
import type { Scheduler } from '../../scheduler.js';
import { attachWorkerCpu } from '../workerCpu.js';
import { SharedArea } from '../../internal/sharedArea.js';
import { drainIncoming, pushIncoming } from '../../internal/incoming.js';
import { THREAD_SLOT_LAYOUT } from '../../internal/sharedLayout.js';
import { THREAD_STATE } from '../../constants.js';

/** Word offsets in the test buffer. Arrays are indexed by CPU (0 or 1) then item. */
export const TEST_WORDS = {
  READY: 0, // workers that finished setup
  DONE: 1, // threads or workers that finished
  REF_MUTEX: 2, // sync refs published by CPU 0
  REF_NOT_EMPTY: 3,
  REF_NOT_FULL: 4,
  REF_SEM_A: 5,
  REF_SEM_B: 6,
  RING_HEAD: 7, // producer/consumer ring indices (guarded by the mutex)
  RING_TAIL: 8,
  CONSUMED: 9,
  SUM_LO: 10, // sum of consumed items, two 32-bit halves (guarded by the mutex)
  SUM_HI: 11,
  XOR: 12,
  BAD: 13, // protocol violations seen
  T0: 14, // Float64 at words 14-15: start time of a timed section
  RAN: 16, // RAN + cpu: entry threads that ran on each CPU
  RING: 64, // RING_SIZE words
  TURN: 1024, // ping-pong turn word per pair
  TID: 4096, // TID + cpu * 1024 + i
  COUNTS: 8192, // per-slot counters for the queue stress: COUNTS + slot (sent), COUNTS + 65536 + slot (received)
  SIZE: 8192 + 2 * 65536,
} as const;
/** Slots of the producer/consumer ring. */
export const RING_SIZE = 64;

/** What a worker is told. */
export interface WorkloadData {
  readonly mode: 'queues' | 'pingpong' | 'prodcons' | 'semping' | 'place' | 'balance' | 'fair';
  readonly buffer: SharedArrayBuffer;
  readonly cpu: number;
  readonly clockOrigin: bigint;
  readonly test: SharedArrayBuffer;
  /** Mode-specific sizes. */
  readonly n: number;
  readonly k: number;
}

/** What a worker reports. */
export interface WorkloadResult {
  readonly cpu: number;
  readonly corrupt: number;
  readonly values: Record<string, number>;
}

const S_STATE = THREAD_SLOT_LAYOUT.STATE.offset;
const S_CPU = THREAD_SLOT_LAYOUT.CPU.offset;

/** Runs the workload `d.mode` and returns its report. */
export async function runWorkload(d: WorkloadData): Promise<WorkloadResult> {
  switch (d.mode) {
    case 'queues':
      return queueStress(d);
    case 'pingpong':
      return pingPong(d);
    case 'prodcons':
      return prodCons(d);
    case 'semping':
      return semPing(d);
    case 'place':
    case 'balance':
      return entryThreads(d);
    case 'fair':
      return fairPair(d);
  }
}

function barrier(test: Int32Array, parties: number): void {
  Atomics.add(test, TEST_WORDS.READY, 1);
  for (;;) {
    const v = Atomics.load(test, TEST_WORDS.READY);
    if (v >= parties) return;
    Atomics.wait(test, TEST_WORDS.READY, v, 5);
  }
}

/**
 * The incoming lists alone, hammered from both sides: each worker wakes the
 * other CPU's K slots (CAS WAITING→WAKING, push) and takes its own wake-ups
 * (check WAKING, count, re-arm to WAITING) until it has sent N. Slots of CPU c
 * are 1 + c·K .. K + c·K; the parent set them WAITING.
 */
function queueStress(d: WorkloadData): WorkloadResult {
  const area = SharedArea.open(d.buffer, 0);
  const i32 = area.i32;
  const test = new Int32Array(d.test);
  const me = d.cpu;
  const other = 1 - me;
  const k = d.k;
  const sent = new Int32Array(k);
  let bad = 0;
  let received = 0;
  const accept = (slot: number): void => {
    const w = area.slotWord(slot, S_STATE);
    if (Atomics.load(i32, w) !== THREAD_STATE.WAKING || Atomics.load(i32, area.slotWord(slot, S_CPU)) !== me) bad++;
    Atomics.add(test, TEST_WORDS.COUNTS + 65536 + slot, 1);
    received++;
    Atomics.store(i32, w, THREAD_STATE.WAITING);
  };
  barrier(test, 2);
  let total = 0;
  for (let round = 0; total < d.n; round++) {
    for (let j = 0; j < k && total < d.n; j++) {
      const slot = 1 + other * k + j;
      if (Atomics.compareExchange(i32, area.slotWord(slot, S_STATE), THREAD_STATE.WAITING, THREAD_STATE.WAKING) === THREAD_STATE.WAITING) {
        pushIncoming(area, other, me, slot);
        sent[j]!++;
        total++;
      }
    }
    drainIncoming(area, me, accept);
  }
  for (let j = 0; j < k; j++) Atomics.add(test, TEST_WORDS.COUNTS + 1 + other * k + j, sent[j]!);
  Atomics.add(test, TEST_WORDS.DONE, 1);
  // Keep taking our wake-ups until the other side is done sending, then once more.
  while (Atomics.load(test, TEST_WORDS.DONE) < 2) drainIncoming(area, me, accept);
  drainIncoming(area, me, accept);
  Atomics.add(test, TEST_WORDS.BAD, bad);
  return { cpu: me, corrupt: area.corruptCount(), values: { sent: total, received } };
}

/**
 * Cross-CPU wake-ups through the whole scheduler: K thread pairs (thread i
 * on CPU 0 with thread i on CPU 1) pass a turn back and forth N times with
 * wake() and waitUntil(). A lost wake-up hangs a pair (the parent's watchdog
 * fails the test); a duplicated one shows as a thread resumed while the turn
 * is not its own.
 */
async function pingPong(d: WorkloadData): Promise<WorkloadResult> {
  const sched = attachWorkerCpu({ buffer: d.buffer, cpu: d.cpu, clockOrigin: d.clockOrigin, balance: false });
  const test = new Int32Array(d.test);
  const me = d.cpu;
  const other = 1 - me;
  let wakes = 0;
  let spurious = 0;
  let resumes = 0;
  for (let i = 0; i < d.k; i++) {
    const th = sched.spawn(async () => {
      const turn = TEST_WORDS.TURN + i;
      const peer = Atomics.load(test, TEST_WORDS.TID + other * 1024 + i);
      for (let r = 0; r < d.n; r++) {
        let first = true;
        await sched.waitUntil(() => {
          const mine = Atomics.load(test, turn) === me;
          if (!first) {
            resumes++;
            if (!mine) spurious++;
          }
          first = false;
          return mine;
        });
        Atomics.store(test, turn, other);
        if (sched.wake(peer)) wakes++;
      }
      finishThread(sched, test, 2 * d.k);
    });
    Atomics.store(test, TEST_WORDS.TID + me * 1024 + i, th.id);
  }
  barrier(test, 2);
  await sched.runCpu();
  return { cpu: me, corrupt: sched.corruptCount(), values: { wakes, spurious, resumes, ...flatStats(sched, me) } };
}

function finishThread(sched: Scheduler, test: Int32Array, all: number): void {
  if (Atomics.add(test, TEST_WORDS.DONE, 1) + 1 === all) sched.stop();
}

function flatStats(sched: Scheduler, cpu: number): Record<string, number> {
  const s = sched.stats(cpu);
  return { switches: s.switches, wakeupsIn: s.wakeupsIn, ipis: s.ipis, sleeps: s.sleeps };
}

/**
 * Producer/consumer of N items through a ring of RING_SIZE words guarded by
 * one cross-vCPU mutex and two condition variables. K producers and K
 * consumers on each CPU; producer p of CPU c makes items v ≡ c·K + p (mod 2K).
 */
async function prodCons(d: WorkloadData): Promise<WorkloadResult> {
  const sched = attachWorkerCpu({ buffer: d.buffer, cpu: d.cpu, clockOrigin: d.clockOrigin, balance: false });
  const test = new Int32Array(d.test);
  const me = d.cpu;
  if (me === 0) {
    Atomics.store(test, TEST_WORDS.REF_MUTEX, sched.mutex().ref);
    Atomics.store(test, TEST_WORDS.REF_NOT_EMPTY, sched.condVar().ref);
    Atomics.store(test, TEST_WORDS.REF_NOT_FULL, sched.condVar().ref);
  }
  barrier(test, 2);
  const m = sched.mutex(Atomics.load(test, TEST_WORDS.REF_MUTEX));
  const notEmpty = sched.condVar(Atomics.load(test, TEST_WORDS.REF_NOT_EMPTY));
  const notFull = sched.condVar(Atomics.load(test, TEST_WORDS.REF_NOT_FULL));
  const producers = 2 * d.k;
  let produced = 0;
  let consumed = 0;
  const lock = async (): Promise<void> => {
    const p = m.lock();
    if (p !== undefined) await p;
  };
  for (let p = 0; p < d.k; p++) {
    sched.spawn(async () => {
      for (let v = me * d.k + p; v < d.n; v += producers) {
        await lock();
        while (Atomics.load(test, TEST_WORDS.RING_TAIL) - Atomics.load(test, TEST_WORDS.RING_HEAD) >= RING_SIZE) {
          const w = notFull.wait(m);
          if (w !== undefined) await w;
        }
        const tail = Atomics.load(test, TEST_WORDS.RING_TAIL);
        Atomics.store(test, TEST_WORDS.RING + (tail % RING_SIZE), v);
        Atomics.store(test, TEST_WORDS.RING_TAIL, tail + 1);
        notEmpty.signal();
        m.unlock();
        produced++;
      }
      finishThread(sched, test, 4 * d.k);
    });
    sched.spawn(async () => {
      for (;;) {
        await lock();
        while (Atomics.load(test, TEST_WORDS.RING_TAIL) === Atomics.load(test, TEST_WORDS.RING_HEAD) && Atomics.load(test, TEST_WORDS.CONSUMED) < d.n) {
          const w = notEmpty.wait(m);
          if (w !== undefined) await w;
        }
        if (Atomics.load(test, TEST_WORDS.CONSUMED) >= d.n) {
          notEmpty.broadcast(); // let the other consumers see the end
          m.unlock();
          break;
        }
        const head = Atomics.load(test, TEST_WORDS.RING_HEAD);
        const v = Atomics.load(test, TEST_WORDS.RING + (head % RING_SIZE));
        Atomics.store(test, TEST_WORDS.RING_HEAD, head + 1);
        Atomics.add(test, TEST_WORDS.CONSUMED, 1);
        addSum(test, v);
        if (m.owner !== sched.current()!.id) Atomics.add(test, TEST_WORDS.BAD, 1);
        notFull.signal();
        m.unlock();
        consumed++;
      }
      finishThread(sched, test, 4 * d.k);
    });
  }
  await sched.runCpu();
  return { cpu: me, corrupt: sched.corruptCount(), values: { produced, consumed, ...flatStats(sched, me) } };
}

function addSum(test: Int32Array, v: number): void {
  const lo = (Atomics.load(test, TEST_WORDS.SUM_LO) >>> 0) + v;
  Atomics.store(test, TEST_WORDS.SUM_LO, lo | 0);
  if (lo > 0xffffffff) Atomics.add(test, TEST_WORDS.SUM_HI, 1);
  Atomics.xor(test, TEST_WORDS.XOR, Math.imul(v, 0x9e3779b1));
}

/**
 * Two threads on two CPUs alternating through two semaphores N times (the
 * "apart" context switch). CPU 0's thread stores the start time after a
 * warm-up of K round trips and reports ns per switch (two per round trip).
 */
async function semPing(d: WorkloadData): Promise<WorkloadResult> {
  const sched = attachWorkerCpu({ buffer: d.buffer, cpu: d.cpu, clockOrigin: d.clockOrigin, balance: false });
  const test = new Int32Array(d.test);
  const me = d.cpu;
  if (me === 0) {
    Atomics.store(test, TEST_WORDS.REF_SEM_A, sched.semaphore(0).ref);
    Atomics.store(test, TEST_WORDS.REF_SEM_B, sched.semaphore(0).ref);
  }
  barrier(test, 2);
  const a = sched.semaphore(0, Atomics.load(test, TEST_WORDS.REF_SEM_A));
  const b = sched.semaphore(0, Atomics.load(test, TEST_WORDS.REF_SEM_B));
  let nsPerSwitch = 0;
  sched.spawn(async () => {
    const total = d.k + d.n;
    let t0 = 0;
    for (let i = 0; i < total; i++) {
      if (i === d.k) t0 = sched.nowNs();
      if (me === 0) {
        a.post();
        const p = b.wait();
        if (p !== undefined) await p;
      } else {
        const p = a.wait();
        if (p !== undefined) await p;
        b.post();
      }
    }
    if (me === 0) nsPerSwitch = (sched.nowNs() - t0) / (2 * d.n);
    finishThread(sched, test, 2);
  });
  await sched.runCpu();
  return { cpu: me, corrupt: sched.corruptCount(), values: { nsPerSwitch, ...flatStats(sched, me) } };
}

/**
 * Entry threads, which can run in any isolate: CPU 0 spawns N of them, each
 * busy for K ms of its own CPU time (so the amount of work does not depend on
 * the machine's speed). 'place': spawned on the least-loaded CPU of the area,
 * so some are created for the other worker's CPU and adopted there. 'balance':
 * all queued on CPU 0, so CPU 0's balancer must move unstarted ones over.
 */
async function entryThreads(d: WorkloadData): Promise<WorkloadResult> {
  const sched = attachWorkerCpu({ buffer: d.buffer, cpu: d.cpu, clockOrigin: d.clockOrigin, balance: true });
  const test = new Int32Array(d.test);
  sched.defineEntry(1, async (index) => {
    const me = sched.current()!;
    while (me.cpuTimeNs() < d.k * 1e6) {
      const p = sched.preemptionPoint();
      if (p !== undefined) await p;
    }
    Atomics.add(test, TEST_WORDS.RAN + me.cpu, 1);
    Atomics.add(test, TEST_WORDS.XOR, index);
    finishThread(sched, test, d.n);
  });
  barrier(test, 2);
  if (d.cpu === 0) {
    for (let i = 1; i <= d.n; i++) sched.spawnEntry(1, i, 0, d.mode === 'balance' ? { cpu: 0 } : {});
  }
  await sched.runCpu();
  const s = sched.stats(d.cpu);
  return { cpu: d.cpu, corrupt: sched.corruptCount(), values: { migrationsIn: s.migrationsIn, migrationsOut: s.migrationsOut } };
}

/**
 * Two CPU-bound threads on this worker's CPU spin with preemption points for
 * N ms of wall time: equal priorities on CPU 0, 0.5 against 1 on CPU 1.
 * Reports each thread's CPU time.
 */
async function fairPair(d: WorkloadData): Promise<WorkloadResult> {
  const sched = attachWorkerCpu({ buffer: d.buffer, cpu: d.cpu, clockOrigin: d.clockOrigin, balance: false });
  const test = new Int32Array(d.test);
  barrier(test, 2);
  const start = sched.nowNs();
  const spin = async (): Promise<void> => {
    while (sched.nowNs() - start < d.n * 1e6) {
      const p = sched.preemptionPoint();
      if (p !== undefined) await p;
    }
    finishThread(sched, test, 4);
  };
  const a = sched.spawn(spin, { cpu: d.cpu });
  const b = sched.spawn(spin, { cpu: d.cpu, priority: d.cpu === 0 ? 1 : 0.5 });
  await sched.runCpu();
  return { cpu: d.cpu, corrupt: sched.corruptCount(), values: { a: a.cpuTimeNs(), b: b.cpuTimeNs() } };
}
