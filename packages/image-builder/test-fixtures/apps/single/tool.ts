export function main(argv: string[]): number {
  return argv.length;
}
