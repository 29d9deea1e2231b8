// Uses built-ins the wrapper captures (Math, Float64Array) and a name that shadows one.
const Map = 'shadowed';

export function greet(name: string): string {
  const xs = new Float64Array([1, 4, 9]);
  return `${name}: ${Math.sqrt(xs[2] ?? 0)} ${Map}`;
}
