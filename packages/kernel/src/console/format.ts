/**
 * Turns console arguments into text the way Node's util.format does, closely
 * enough that a program's output reads the same inside the VM and on the host:
 * printf-style %s %d %i %f %j %o %O %c %% in a leading string, the rest joined
 * by spaces, objects shown with a small inspector (depth 2, cycles marked).
 */

const MAX_DEPTH = 2;
const MAX_ITEMS = 100;

function inspectString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

function inspectKey(k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? k : inspectString(k);
}

function list(items: string[], open: string, close: string): string {
  if (items.length === 0) return `${open}${close}`;
  const one = `${open} ${items.join(', ')} ${close}`;
  return one.length <= 72 ? one : `${open}\n  ${items.join(',\n').replace(/\n/g, '\n  ')}\n${close}`;
}

/**
 * Shows any value as Node's util.inspect would, in the common cases. A string
 * at the top level is shown as is; nested deeper than `maxDepth` an object
 * becomes [Object] or [Array].
 */
export function inspect(value: unknown, depth = 0, seen: unknown[] = [], maxDepth = MAX_DEPTH): string {
  switch (typeof value) {
    case 'string':
      return depth === 0 && seen.length === 0 ? value : inspectString(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function: ${value.name || '(anonymous)'}]`;
  }
  if (value === null) return 'null';
  const obj = value as object;
  if (seen.includes(obj)) return '[Circular *]';
  if (obj instanceof Error) return obj.stack ?? `${obj.name}: ${obj.message}`;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (obj instanceof RegExp) return String(obj);
  if (depth > maxDepth) return Array.isArray(obj) ? '[Array]' : '[Object]';
  const inner = [...seen, obj];
  const show = (v: unknown): string => inspect(v, depth + 1, inner, maxDepth);
  if (Array.isArray(obj)) {
    const items = obj.slice(0, MAX_ITEMS).map(show);
    if (obj.length > MAX_ITEMS) items.push(`... ${obj.length - MAX_ITEMS} more items`);
    return list(items, '[', ']');
  }
  if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
    const arr = obj as unknown as ArrayLike<number | bigint> & { length: number };
    const items: string[] = [];
    for (let i = 0; i < Math.min(arr.length, MAX_ITEMS); i++) items.push(show(arr[i]));
    if (arr.length > MAX_ITEMS) items.push(`... ${arr.length - MAX_ITEMS} more items`);
    return `${obj.constructor.name}(${arr.length}) ${list(items, '[', ']')}`;
  }
  if (obj instanceof Map) {
    const items = [...obj].slice(0, MAX_ITEMS).map(([k, v]) => `${show(k)} => ${show(v)}`);
    return `Map(${obj.size}) ${list(items, '{', '}')}`;
  }
  if (obj instanceof Set) {
    return `Set(${obj.size}) ${list([...obj].slice(0, MAX_ITEMS).map(show), '{', '}')}`;
  }
  const items = Object.keys(obj)
    .slice(0, MAX_ITEMS)
    .map((k) => `${inspectKey(k)}: ${show((obj as Record<string, unknown>)[k])}`);
  const proto = Object.getPrototypeOf(obj) as { constructor?: { name?: string } } | null;
  const name = proto === null ? '[Object: null prototype] ' : proto.constructor?.name && proto.constructor.name !== 'Object' ? `${proto.constructor.name} ` : '';
  return name + list(items, '{', '}');
}

/** Formats console arguments into one line of text (no trailing newline). */
export function format(args: readonly unknown[]): string {
  if (args.length === 0) return '';
  const first = args[0];
  let rest = 1;
  let head: string;
  if (typeof first === 'string' && first.includes('%')) {
    head = first.replace(/%([sdifjoOc%])/g, (m, c: string) => {
      if (c === '%') return '%';
      if (rest >= args.length) return m;
      const a = args[rest++];
      switch (c) {
        case 's':
          // util.format shows objects for %s at depth 0.
          return typeof a === 'string' ? a : typeof a === 'bigint' ? `${a}n` : inspect(a, 0, [], 0);
        case 'd':
          return typeof a === 'bigint' ? `${a}n` : String(Number(a));
        case 'i':
          return typeof a === 'bigint' ? `${a}n` : String(Number.parseInt(String(a), 10));
        case 'f':
          return String(Number.parseFloat(String(a)));
        case 'j':
          try {
            return JSON.stringify(a);
          } catch {
            return '[Circular]';
          }
        case 'c':
          return '';
        default:
          return inspect(a, 0, [null]);
      }
    });
  } else {
    head = inspect(first);
  }
  const tail = args.slice(rest).map((a) => inspect(a));
  return tail.length ? `${head} ${tail.join(' ')}` : head;
}
