import { greeting } from '@osv-ts/kernel';
import { greet } from './greet.js';

export function main(argv: string[], env: Record<string, string>): number {
  console.log(greeting(argv[1] ?? 'world'), greet(env['WHO'] ?? 'nobody'));
  return argv.length;
}
