/**
 * Test support: images of the apps in packages/hv/test-apps, built with the
 * image builder's CLI (packages/image-builder/dist, which the workspace's
 * test command builds first; the hv cannot depend on the image builder,
 * which depends on it), and a way to run osv-run (dist/cli.js) on them.
 * Images are built once per test process.
 */
import { connect, createServer, type AddressInfo } from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const hvRoot = new URL('../..', import.meta.url).pathname;
const root = join(hvRoot, '../..');
const osvBuild = join(root, 'packages/image-builder/dist/cli.js');
/** osv-run as built into dist/. */
export const OSV_RUN = join(hvRoot, 'dist/cli.js');
const out = mkdtempSync(join(tmpdir(), 'osv-hv-apps-'));
const built = new Map<string, string>();

/**
 * The image of test app `name` (a folder of packages/hv/test-apps).
 * @throws Error when the image builder is not built or the build fails
 */
export function testAppImage(name: string): string {
  const have = built.get(name);
  if (have) return have;
  if (!existsSync(osvBuild)) throw new Error(`${osvBuild} is missing: build the workspace first (pnpm build)`);
  const img = join(out, `${name}.img`);
  const r = spawnSync(process.execPath, [osvBuild, join(hvRoot, 'test-apps', name), '-o', img, '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`osv-build ${name} failed (${r.status}): ${r.stderr}`);
  built.set(name, img);
  return img;
}

/** What an osv-run process did. */
export interface RunResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs osv-run with `args` and resolves when it exits (asynchronously, so peers in this process keep running). */
export function osvRun(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [OSV_RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let outText = '';
    let errText = '';
    p.stdout.on('data', (c: Buffer) => (outText += c.toString()));
    p.stderr.on('data', (c: Buffer) => (errText += c.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`osv-run ${args.join(' ')} did not exit within ${timeoutMs} ms\n${outText}\n${errText}`));
    }, timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: outText, err: errText });
    });
  });
}

/** The last line of `text` that parses as a JSON object (what the test apps print). */
export function lastJson(text: string): Record<string, unknown> {
  const lines = text.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      const v: unknown = JSON.parse(l);
      if (v !== null && typeof v === 'object') return v as Record<string, unknown>;
    } catch {
      // not JSON: the app's other output
    }
  }
  throw new Error(`no JSON line in the output:\n${text}`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for hostfwd and host peers in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Connects to 127.0.0.1:port (retrying while osv-run starts and the guest
 * boots: up to a minute, since a loaded machine — a soak run beside the
 * tests — can take seconds just to start the osv-run process), sends `data`,
 * half-closes, and resolves with everything that came back.
 */
export async function echoClient(port: number, data: Buffer, attempts = 600): Promise<Buffer> {
  for (let i = 0; ; i++) {
    try {
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const s = connect(port, '127.0.0.1', () => s.end(data));
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('close', (hadError) => (hadError ? reject(new Error('closed with error')) : resolve(Buffer.concat(chunks))));
        s.on('error', reject);
      });
      // A forwarder that accepts before the guest listens closes at once: retry.
      if (reply.length === 0 && data.length > 0) throw new Error('empty reply');
      return reply;
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
