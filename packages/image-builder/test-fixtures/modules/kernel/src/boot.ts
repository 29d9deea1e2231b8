// Fixture kernel entry: keeps what it was started with, for tests to link an app against.
export function start(hw: { cpu: number }, modules: Readonly<Record<string, object>>): void {
  (globalThis as Record<string, unknown>)['fixtureBoot'] = { cpu: hw.cpu, modules };
}
