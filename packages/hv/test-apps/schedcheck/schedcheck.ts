/**
 * The kernel's scheduler (@osv-ts/sched) on real vCPUs, as a program sees it
 * through `scheduler()` and `spawnOn()` (issue 4's checks inside a booted VM).
 * Modes (argv after the program), each printing one JSON line and exiting 0
 * when it ran to the end:
 *
 *   fair [MS]            two CPU-bound threads of priority 1 on vCPU 0, each
 *                        counting loop iterations (with preemptionPoint())
 *                        for MS ms of guest time (default 1000)
 *   prio [MS]            the same with priorities 0.5 and 1
 *   prodcons [N]         N items (default 100,000) from a producer on vCPU 0
 *                        to a consumer on vCPU 1 through a ring in guest
 *                        memory, a mutex and two condition variables
 *   pingpong [N]         N round trips (default 100,000) through two
 *                        semaphores between vCPU 0 and vCPU 1
 *   switch colocated|apart [N]
 *                        ns per context switch: N round trips (2N switches,
 *                        default 100,000) between two threads alternating
 *                        through two semaphores, both on vCPU 0 or one on
 *                        each of vCPUs 0 and 1; timed with the scheduler's
 *                        clock after a warm-up of N/10 round trips
 *
 * Threads on vCPU 1 are the program's exported functions started with
 * spawnOn(); each vCPU has its own module state, so everything the two sides
 * share lives in one block of guest memory (`memory().malloc`), whose
 * physical address is the thread's integer argument: the sync objects' refs
 * (so both vCPUs use the same objects), the ring, and the results.
 */
import { currentCpu, memory, onlineCpus, scheduler, spawnOn } from '@osv-ts/kernel';
import { LINEAR_BASE } from '@osv-ts/mmu';

/** Words of the shared block (Int32 indices). Written by vCPU 0 before spawnOn unless noted. */
const W = {
  /** Ref of the mutex guarding the ring (prodcons). */
  MUTEX: 0,
  /** Ref of "the ring is not empty" (prodcons) / the semaphore vCPU 0 posts (pingpong, switch). */
  COND_A: 1,
  /** Ref of "the ring is not full" (prodcons) / the semaphore vCPU 1 posts (pingpong, switch). */
  COND_B: 2,
  /** Items or round trips to do. */
  N: 3,
  /** Ring: next slot to write (producer), next slot to read (consumer), items in it; under MUTEX. */
  HEAD: 4,
  TAIL: 5,
  COUNT: 6,
  /** Results written by the vCPU 1 side before it returns: items or round trips done. */
  DONE: 7,
  /** Consumer: sum of the items, low and high 32 bits (the sum can exceed 2^32). */
  SUM_LO: 8,
  SUM_HI: 9,
  /** Consumer: items that were not the next in sequence (lost, duplicated or reordered). */
  OUT_OF_ORDER: 10,
  /** The vCPU it ran on. */
  CPU: 11,
  /** Warm-up round trips before the timed ones (switch). */
  WARMUP: 12,
  /** The ring's slots start here. */
  RING: 16,
} as const;
const RING_SLOTS = 1008;
const BLOCK_WORDS = W.RING + RING_SLOTS; // 4 KiB: one page, physically contiguous

/** A zeroed shared block; returns its view (vCPU 0 side) and the argument for spawnOn. */
function sharedBlock(): { v: Int32Array; arg: number } {
  const mmu = memory();
  const va = mmu.malloc(BLOCK_WORDS * 4);
  const v = va === 0 ? null : mmu.mem.viewInt32(va, BLOCK_WORDS, true);
  if (v === null) throw new Error('schedcheck: no physically contiguous 4 KiB block from malloc');
  const pa = va - LINEAR_BASE;
  if (pa !== (pa | 0)) throw new Error(`schedcheck: block at physical 0x${pa.toString(16)} does not fit an integer argument`);
  v.fill(0);
  return { v, arg: pa };
}

/** The shared block on the vCPU 1 side, from spawnOn's argument. */
function blockAt(arg: number): Int32Array {
  const v = memory().mem.viewInt32(LINEAR_BASE + arg, BLOCK_WORDS, true);
  if (v === null) throw new Error('schedcheck: shared block is not contiguous');
  return v;
}

/** What a thread started with spawnOn reports when joined from vCPU 0: whether it returned. */
async function joined(tid: number): Promise<string> {
  try {
    await scheduler().join(tid);
    return 'ok';
  } catch (e) {
    return String(e);
  }
}

// ---- fairness ---------------------------------------------------------------

/** Busy work between preemption points: a few dozen ns of integer mixing. */
function work(x: number): number {
  for (let i = 0; i < 16; i++) x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i;
  return x;
}

/** Two CPU-bound threads of priorities `pa`, `pb` on this vCPU for `ms` of guest time. */
async function hogs(pa: number, pb: number, ms: number): Promise<object> {
  const s = scheduler();
  const end = s.nowNs() + ms * 1e6;
  const iterations = [0, 0];
  let sink = 0;
  const hog = (i: number) => async (): Promise<void> => {
    let n = 0;
    let x = i + 1;
    while (s.nowNs() < end) {
      x = work(x);
      n++;
      const p = s.preemptionPoint();
      if (p) await p;
    }
    iterations[i] = n;
    sink ^= x;
  };
  const a = s.spawn(hog(0), { name: 'hog-a', priority: pa });
  const b = s.spawn(hog(1), { name: 'hog-b', priority: pb });
  await a.join();
  await b.join();
  const [na, nb] = iterations as [number, number];
  return {
    cpu: currentCpu(),
    priorities: [pa, pb],
    iterations: [na, nb],
    shareA: na / (na + nb),
    cpuNs: [a.cpuTimeNs(), b.cpuTimeNs()],
    sink: sink & 1,
  };
}

// ---- producer / consumer ----------------------------------------------------

/** The consumer, on vCPU 1: takes v[N] items, checks their sequence, sums them. */
export async function consumer(arg: number): Promise<void> {
  const v = blockAt(arg);
  const s = scheduler();
  const m = s.mutex(v[W.MUTEX]);
  const notEmpty = s.condVar(v[W.COND_A]);
  const notFull = s.condVar(v[W.COND_B]);
  const n = v[W.N]!;
  let sum = 0;
  let bad = 0;
  for (let i = 1; i <= n; i++) {
    const l = m.lock();
    if (l) await l;
    while (v[W.COUNT] === 0) {
      const w = notEmpty.wait(m);
      if (w) await w;
    }
    const t = v[W.TAIL]!;
    const item = v[W.RING + t]!;
    v[W.TAIL] = t + 1 === RING_SLOTS ? 0 : t + 1;
    v[W.COUNT]!--;
    notFull.signal();
    m.unlock();
    if (item !== i) bad++;
    sum += item;
  }
  v[W.SUM_LO] = sum % 2 ** 32 | 0;
  v[W.SUM_HI] = Math.floor(sum / 2 ** 32);
  v[W.OUT_OF_ORDER] = bad;
  v[W.CPU] = currentCpu();
  Atomics.store(v, W.DONE, n);
}

async function prodcons(n: number): Promise<object> {
  const s = scheduler();
  const { v, arg } = sharedBlock();
  const m = s.mutex();
  const notEmpty = s.condVar();
  const notFull = s.condVar();
  v[W.MUTEX] = m.ref;
  v[W.COND_A] = notEmpty.ref;
  v[W.COND_B] = notFull.ref;
  v[W.N] = n;
  const t0 = s.nowNs();
  const tid = spawnOn(1, 'consumer', arg);
  for (let i = 1; i <= n; i++) {
    const l = m.lock();
    if (l) await l;
    while (v[W.COUNT] === RING_SLOTS) {
      const w = notFull.wait(m);
      if (w) await w;
    }
    const h = v[W.HEAD]!;
    v[W.RING + h] = i;
    v[W.HEAD] = h + 1 === RING_SLOTS ? 0 : h + 1;
    v[W.COUNT]!++;
    notEmpty.signal();
    m.unlock();
  }
  const consumerResult = await joined(tid);
  const ms = (s.nowNs() - t0) / 1e6;
  const sum = (v[W.SUM_HI]! * 2 ** 32) + (v[W.SUM_LO]! >>> 0);
  return {
    items: n,
    consumed: Atomics.load(v, W.DONE),
    sum,
    expectedSum: (n * (n + 1)) / 2,
    outOfOrder: v[W.OUT_OF_ORDER],
    leftInRing: v[W.COUNT],
    producerCpu: currentCpu(),
    consumerCpu: v[W.CPU],
    consumer: consumerResult,
    ms: Math.round(ms),
  };
}

// ---- semaphore ping-pong (pingpong, switch) ---------------------------------

/**
 * The answering side: waits on semaphore A, posts B, v[WARMUP] + v[N] times;
 * counts round trips in v[DONE]. Exported for spawnOn (vCPU 1); also run as
 * a closure thread for the colocated switch.
 */
export async function pong(arg: number, block?: Int32Array): Promise<void> {
  const v = block ?? blockAt(arg);
  const s = scheduler();
  const a = s.semaphore(0, v[W.COND_A]);
  const b = s.semaphore(0, v[W.COND_B]);
  v[W.CPU] = currentCpu();
  const total = v[W.WARMUP]! + v[W.N]!;
  for (let i = 0; i < total; i++) {
    const p = a.wait();
    if (p) await p;
    Atomics.store(v, W.DONE, i + 1);
    b.post();
  }
}

/** `warmup` then `n` round trips against pong() on vCPU `peerCpu` (0: a thread beside this one). */
async function ping(n: number, warmup: number, peerCpu: number): Promise<object> {
  const s = scheduler();
  const { v, arg } = sharedBlock();
  const a = s.semaphore(0);
  const b = s.semaphore(0);
  v[W.COND_A] = a.ref;
  v[W.COND_B] = b.ref;
  v[W.N] = n;
  v[W.WARMUP] = warmup;
  let peer: () => Promise<string>;
  if (peerCpu === currentCpu()) {
    const t = s.spawn(() => pong(arg, v), { name: 'pong' });
    peer = () => t.join().then(() => 'ok', (e: unknown) => String(e));
  } else {
    const tid = spawnOn(peerCpu, 'pong', arg);
    peer = () => joined(tid);
  }
  let lost = 0;
  let t0 = s.nowNs();
  for (let i = 0; i < warmup + n; i++) {
    if (i === warmup) t0 = s.nowNs();
    a.post();
    const p = b.wait();
    if (p) await p;
    if (Atomics.load(v, W.DONE) !== i + 1) lost++;
  }
  const elapsed = s.nowNs() - t0;
  const peerResult = await peer();
  return {
    roundTrips: n,
    answered: Atomics.load(v, W.DONE) - warmup,
    mismatched: lost,
    pingCpu: currentCpu(),
    pongCpu: v[W.CPU],
    peer: peerResult,
    nsPerSwitch: elapsed / (2 * n),
    ms: Math.round(elapsed / 1e6),
  };
}

// ---- main -------------------------------------------------------------------

function needCpus(k: number): void {
  if (onlineCpus() < k) throw new Error(`schedcheck: this mode needs ${k} vCPUs (boot with --cpus ${k})`);
}

export async function main(argv: string[]): Promise<number> {
  const [mode = 'fair', x, y] = argv.slice(1);
  let out: object;
  if (mode === 'fair') out = await hogs(1, 1, Number(x ?? 1000));
  else if (mode === 'prio') out = await hogs(0.5, 1, Number(x ?? 1000));
  else if (mode === 'prodcons') {
    needCpus(2);
    out = await prodcons(Number(x ?? 100_000));
  } else if (mode === 'pingpong') {
    needCpus(2);
    out = await ping(Number(x ?? 100_000), 0, 1);
  } else if (mode === 'switch' && (x === 'colocated' || x === 'apart')) {
    if (x === 'apart') needCpus(2);
    const n = Number(y ?? 100_000);
    out = await ping(n, Math.ceil(n / 10), x === 'apart' ? 1 : 0);
  } else if (mode === 'stall') {
    // A thread that breaks the rule (it awaits a promise the scheduler does not
    // know): the kernel must name it. The VM never finishes; the test kills it.
    const never = new Promise<void>(() => {});
    console.log(JSON.stringify({ mode, stalling: true }));
    await scheduler().spawn(async () => void (await never), { name: 'stray-await' }).join();
    return 1;
  } else {
    console.log(`usage: schedcheck fair|prio [MS] | prodcons|pingpong [N] | switch colocated|apart [N] | stall (got ${argv.slice(1).join(' ')})`);
    return 2;
  }
  console.log(JSON.stringify({ mode, ...out }));
  return 0;
}
