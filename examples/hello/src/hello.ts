/**
 * The smallest osv-ts program: greets, says how many vCPUs it sees, and exits
 * with the code it is asked for. Run it in a VM with
 *
 *   osv-build examples/hello -o hello.img && osv-run hello.img
 *   osv-run hello.img --cpus 2 --cmdline "/hello.js --exit 7"
 *
 * Flags: --exit N (exit code), --name WHO (whom to greet), --throw (throw an
 * uncaught error, to show how the kernel reports one).
 */
import { isBooted, onlineCpus } from '@osv-ts/kernel';

/** Program entry point: the kernel calls it with argv (argv[0] is the program's path) and the environment. */
export function main(argv: string[], env: Record<string, string>): number {
  let code = 0;
  let name = env['GREET'] ?? 'world';
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--exit') code = Number(argv[++i] ?? 'NaN');
    else if (arg === '--name') name = argv[++i] ?? name;
    else if (arg === '--throw') throw new Error('hello was asked to throw');
    else {
      console.error(`hello: unknown argument ${arg}`);
      return 2;
    }
  }
  if (!Number.isInteger(code) || code < 0 || code > 255) {
    console.error('hello: --exit needs a whole number from 0 to 255');
    return 2;
  }
  console.log(`Hello, ${name}! from osv-ts`);
  if (isBooted()) console.log(`vCPUs online: ${onlineCpus()}`);
  return code;
}
