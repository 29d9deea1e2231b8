/**
 * Exercises the kernel's block driver from inside a VM; the hv's tests and
 * benchmarks boot it. Commands (argv after the program), each printing one
 * JSON line and exiting 0 when it succeeded:
 *
 *   write SEED       fill the whole of vda with the pattern of SEED, flush
 *   verify SEED      read vda back and compare with the pattern of SEED
 *   check            small in-boot checks: write, read back, errors, GET_ID
 *   bench OP         OP: seqwrite, seqread, randread (4 KiB), idrtt (GET_ID round trips)
 *
 * Options: --inflight N (requests outstanding, default 32), --chunk BYTES
 * (per request, default 128 KiB), --count N (randread and idrtt operations),
 * --disk NAME (default vda), --poll-turns N and --no-suppress (I/O wait
 * policy), --max-bytes N (limit write/verify/seq* to the first N bytes).
 */
import { blockDevices, currentCpu, ioWaitPolicy, KernelError, scheduler, uptimeNs, type BlockDevice } from '@osv-ts/kernel';
import { checkPattern, fillPattern } from '../../src/testing/diskPattern.js';

interface Options {
  inflight: number;
  chunk: number;
  count: number;
  disk: string;
  maxBytes: number;
}

function parse(argv: string[]): { cmd: string; arg: string; opts: Options } {
  const opts: Options = { inflight: 32, chunk: 128 * 1024, count: 4096, disk: 'vda', maxBytes: Infinity };
  const rest: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--inflight') opts.inflight = Number(argv[++i]);
    else if (a === '--chunk') opts.chunk = Number(argv[++i]);
    else if (a === '--count') opts.count = Number(argv[++i]);
    else if (a === '--disk') opts.disk = argv[++i] ?? 'vda';
    else if (a === '--max-bytes') opts.maxBytes = Number(argv[++i]);
    else if (a === '--poll-turns') ioWaitPolicy({ pollTurns: Number(argv[++i]) });
    else if (a === '--no-suppress') ioWaitPolicy({ suppressInterrupts: false });
    else rest.push(a);
  }
  return { cmd: rest[0] ?? '', arg: rest[1] ?? '', opts };
}

/**
 * Runs `fn` over [0, total) in `chunk`-byte pieces with `inflight` of them
 * outstanding: one thread per outstanding request, as a C program would use
 * pthreads. (Not Promise.all over async loops in one thread: a thread's awaits
 * must be scheduler calls or kernel I/O, and a loop's continuation that runs
 * after its thread parked is no longer that thread — see the kernel README.)
 */
async function eachChunk(total: number, chunk: number, inflight: number, fn: (offset: number, buf: Uint8Array) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    const buf = new Uint8Array(chunk);
    while (next < total) {
      const offset = next;
      next += chunk;
      await fn(offset, buf.subarray(0, Math.min(chunk, total - offset)));
    }
  };
  const sched = scheduler();
  // The block devices are vCPU 0's (the kernel serves devices there): the workers stay on this vCPU.
  const threads = Array.from({ length: inflight }, (_, i) => sched.spawn(worker, { name: `io-worker-${i}`, cpu: currentCpu() }));
  for (const t of threads) await t.join();
}

const ms = (t0: number): number => (uptimeNs() - t0) / 1e6;

async function write(d: BlockDevice, seed: number, o: Options): Promise<object> {
  const total = Math.min(d.size, o.maxBytes);
  const t0 = uptimeNs();
  await eachChunk(total, o.chunk, o.inflight, async (offset, buf) => {
    fillPattern(buf, offset, seed);
    await d.write(offset, buf);
  });
  await d.flush();
  return { ok: true, bytes: total, ms: ms(t0) };
}

async function verify(d: BlockDevice, seed: number, o: Options): Promise<object> {
  const total = Math.min(d.size, o.maxBytes);
  let bad = -1;
  const t0 = uptimeNs();
  await eachChunk(total, o.chunk, o.inflight, async (offset, buf) => {
    await d.read(offset, buf);
    const at = checkPattern(buf, offset, seed);
    if (at >= 0 && (bad < 0 || offset + at < bad)) bad = offset + at;
  });
  return { ok: bad < 0, bytes: total, ms: ms(t0), ...(bad >= 0 ? { firstMismatch: bad } : {}) };
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof KernelError ? e.code : String(e);
  }
}

async function check(d: BlockDevice): Promise<object> {
  const bs = d.blockSize;
  const data = new Uint8Array(3 * bs + 300 * 1024 - ((300 * 1024) % bs));
  fillPattern(data, 0, 77);
  const out: Record<string, unknown> = { id: await d.id(), size: d.size, readOnly: d.readOnly };
  out['write'] = await errorCode(d.write(bs, data));
  const back = new Uint8Array(data.length);
  out['read'] = await errorCode(d.read(bs, back));
  out['same'] = checkPattern(back, 0, 77) < 0 || d.readOnly;
  out['flush'] = await errorCode(d.flush());
  out['misaligned'] = await errorCode(d.read(1, new Uint8Array(bs)));
  out['beyondEnd'] = await errorCode(d.read(d.size, new Uint8Array(bs)));
  out['lastBlock'] = await errorCode(d.read(d.size - bs, new Uint8Array(bs)));
  const many = await Promise.all(Array.from({ length: 100 }, (_, i) => errorCode(d.read((i * bs) % d.size, new Uint8Array(bs)))));
  out['parallel'] = many.every((r) => r === 'ok');
  return out;
}

async function bench(d: BlockDevice, op: string, o: Options): Promise<object> {
  const total = Math.min(d.size, o.maxBytes);
  const t0 = uptimeNs();
  if (op === 'seqwrite' || op === 'seqread') {
    await eachChunk(total, o.chunk, o.inflight, (offset, buf) => (op === 'seqwrite' ? d.write(offset, buf) : d.read(offset, buf)));
    if (op === 'seqwrite') await d.flush();
    const t = ms(t0);
    return { op, bytes: total, ms: t, mbps: total / 1e6 / (t / 1e3) };
  }
  if (op === 'randread') {
    const blocks = Math.floor(total / 4096);
    let seed = 12345;
    await eachChunk(o.count * 4096, 4096, o.inflight, (_offset, buf) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return d.read((seed % blocks) * 4096, buf);
    });
    const t = ms(t0);
    return { op, ops: o.count, ms: t, iops: o.count / (t / 1e3) };
  }
  if (op === 'idrtt') {
    await eachChunk(o.count, 1, o.inflight, () => d.id().then(() => undefined));
    const t = ms(t0);
    return { op, ops: o.count, ms: t, perSecond: o.count / (t / 1e3) };
  }
  throw new Error(`unknown bench ${op}`);
}

export async function main(argv: string[]): Promise<number> {
  const { cmd, arg, opts } = parse(argv);
  const d = blockDevices().find((b) => b.name === opts.disk);
  if (!d) {
    console.log(JSON.stringify({ ok: false, error: `no disk ${opts.disk}` }));
    return 2;
  }
  let result: object;
  if (cmd === 'write') result = await write(d, Number(arg), opts);
  else if (cmd === 'verify') result = await verify(d, Number(arg), opts);
  else if (cmd === 'check') result = await check(d);
  else if (cmd === 'bench') result = await bench(d, arg, opts);
  else {
    console.log(JSON.stringify({ ok: false, error: `unknown command ${cmd}` }));
    return 2;
  }
  console.log(JSON.stringify(result));
  return 'ok' in result && result.ok === false ? 1 : 0;
}
