#!/usr/bin/env node
/**
 * osv-run: boots an osv-ts image on the bundled virtual machine, QEMU-style.
 * The guest's console is this process's stdout and stdin; its exit code is
 * this process's.
 */
import { parseArgs } from 'node:util';
import { parseDiskSpec, type DiskOptions } from './devices/diskOptions.js';
import { parseNetSpec, type NetOptions } from './devices/netOptions.js';
import { HvError } from './errors.js';
import { Machine } from './machine.js';

const USAGE = `usage: osv-run IMAGE [options]

Boots an osv-ts image (made by osv-build) on the bundled virtual machine.
The guest's console is this terminal; osv-run exits with the guest's exit code.

options:
  -m, --memory SIZE     guest memory, like 256M or 1G (default: the image's, else 256M)
  -c, --cpus N          number of vCPUs, 1-64 (default: the image's, else 1)
      --cmdline TEXT    command line instead of the image's default, e.g. "/hello.js --exit 7"
      --disk FILE[,ro][,overlay=OVL][,readonly][,serial=ID]
                        a virtio-blk disk on the raw image FILE (repeatable):
                          FILE            writable, guest writes go to FILE
                          ro              FILE untouched, writes go to an overlay in memory
                          overlay=OVL     the overlay in file OVL, kept across boots
                          readonly        a read-only device (the guest cannot write)
      --net BACKEND[,mac=MAC][,mtu=N]
                        a virtio-net device (repeatable). BACKEND is one of
                          user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]...
                                          the built-in NAT gateway: DHCP, DNS, outbound
                                          TCP/UDP via host sockets, port forwarding
                                          (the default for images that need a network)
                          switch:NAME     an L2 switch shared by this hv's machines
                          stream:PATH     QEMU's stream protocol on the UNIX socket
                                          PATH (e.g. passt -s PATH)
                          none            a device with no peer
                        and device options:
                          offloads=on|csum|off  what the device offers (default on)
                          loss=P,dup=P,reorder=P,delay=MS,jitter=MS,rate=BITS,seed=N
                                          impair the link both ways, as netem would
                                          (P a probability or a percentage: 0.05, 5%)
      --net-dump FILE   write the frames of the --net before it to a pcap file
      --no-entropy      no virtio-rng entropy device
      --boot-trace      print the boot timeline to stderr when the guest exits
      --cpu-prof DIR    write a CPU profile of each vCPU's JavaScript (kernel and
                        app) to DIR/vcpuN.cpuprofile at power-off
  -h, --help            show this help
  -v, --version         show the version
`;

/** Runs osv-run with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // The command line usually starts with "--" options of its own
  // (--env=..., --verbose), which parseArgs would take for ours: bind the
  // value to the flag first.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--cmdline' && i + 1 < argv.length) args.push(`--cmdline=${argv[++i]}`);
    else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      tokens: true,
      options: {
        memory: { type: 'string', short: 'm' },
        cpus: { type: 'string', short: 'c' },
        cmdline: { type: 'string' },
        disk: { type: 'string', multiple: true },
        net: { type: 'string', multiple: true },
        'net-dump': { type: 'string', multiple: true },
        'no-entropy': { type: 'boolean' },
        'boot-trace': { type: 'boolean' },
        'cpu-prof': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    process.stderr.write(`osv-run: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
    process.stdout.write(`osv-run ${pkg.version}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`osv-run: ${positionals.length === 0 ? 'no image given' : `one image at a time (got ${positionals.join(', ')})`}\n${USAGE}`);
    return 2;
  }
  const cpus = values.cpus === undefined ? undefined : Number(values.cpus);
  if (cpus !== undefined && !/^\d+$/.test(values.cpus ?? '')) {
    process.stderr.write(`osv-run: --cpus: '${values.cpus}' is not a whole number\n`);
    return 2;
  }
  let machine: Machine;
  try {
    const disks: DiskOptions[] = (values.disk ?? []).map(parseDiskSpec);
    const nets = netDevices(parsed.tokens);
    machine = await Machine.boot({
      image: positionals[0]!,
      ...(values.memory !== undefined ? { memory: values.memory } : {}),
      ...(cpus !== undefined ? { cpus } : {}),
      ...(values.cmdline !== undefined ? { cmdline: values.cmdline } : {}),
      disks,
      nets,
      ...(values['no-entropy'] ? { entropy: false } : {}),
      ...(values['cpu-prof'] !== undefined ? { cpuProfile: values['cpu-prof'] } : {}),
      stdout: process.stdout,
      log: (m) => process.stderr.write(`osv-run: ${m}\n`),
    });
  } catch (e) {
    if (e instanceof HvError) {
      process.stderr.write(`osv-run: ${e.message}\n`);
      return e.code === 'BAD_OPTION' ? 2 : 1;
    }
    throw e;
  }
  const onSignal = (): void => void machine.kill();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const exit = await machine.wait();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (values['boot-trace']) process.stderr.write(`${JSON.stringify(machine.timeline(), null, 2)}\n`);
  for (const f of machine.cpuProfiles()) process.stderr.write(`osv-run: wrote ${f}\n`);
  return exit.code;
}

type Token = { kind: string; name?: string; value?: string | undefined };

/**
 * The --net devices in command-line order, each with the --net-dump that
 * follows it (a --net-dump before any --net names the first).
 * @throws HvError BAD_OPTION for a bad --net or a --net-dump without a device
 */
function netDevices(tokens: readonly Token[]): NetOptions[] {
  const nets: NetOptions[] = [];
  const early: string[] = [];
  for (const t of tokens) {
    if (t.kind !== 'option' || t.value === undefined) continue;
    if (t.name === 'net') nets.push(parseNetSpec(t.value));
    else if (t.name === 'net-dump') {
      const last = nets.length - 1;
      if (last < 0) early.push(t.value);
      else nets[last] = { ...nets[last]!, dump: t.value };
    }
  }
  if (early.length > 0) {
    if (nets.length === 0) throw new HvError('BAD_OPTION', '--net-dump needs a --net device to capture');
    nets[0] = { ...nets[0]!, dump: early[early.length - 1]! };
  }
  return nets;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`osv-run: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 70;
  },
);
