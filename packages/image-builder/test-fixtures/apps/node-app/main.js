import { readFileSync } from 'node:fs';
import { join } from 'path';

export function main() {
  return readFileSync(join('/', 'etc', 'motd')).length;
}
