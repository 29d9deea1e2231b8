/**
 * Test and benchmark helper: a worker thread cannot load TypeScript on Node
 * 20, so the entry is bundled on the fly with esbuild (a root devDependency,
 * not a dependency of this package) through the `@osv-ts/source` condition
 * and started from a data: URL. Bundles are cached per entry for the process.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { build } from 'esbuild';

const cache = new Map<string, Promise<URL>>();

async function bundle(entry: string): Promise<URL> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    conditions: ['@osv-ts/source'],
    logLevel: 'silent',
  });
  const code = r.outputFiles[0]!.text;
  return new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
}

/** Starts a worker running the TypeScript module at `entry` (a file URL). */
export async function startTsWorker(entry: URL, options: WorkerOptions = {}): Promise<Worker> {
  const key = entry.href;
  let url = cache.get(key);
  if (url === undefined) {
    url = bundle(entry.pathname);
    cache.set(key, url);
  }
  return new Worker(await url, options);
}
