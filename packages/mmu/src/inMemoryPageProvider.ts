/**
 * A simple PageProvider: files held whole in guest pages, for tests and for
 * small read-mostly images. Content is loaded once (`addFile`, on the vCPU
 * that formats), and the page table of each file — one physical address per
 * page — is plain data another vCPU's provider object can be given
 * (`describe` / `fromDescription`), so all vCPUs map the same frames.
 * writePage copies a mapped frame into the file's own frame (msync); for
 * MAP_SHARED mappings these are the same frame and the copy is skipped.
 */
import type { PageProvider } from './interfaces.js';
import type { PhysicalPages } from './physicalPages.js';
import { MMU_ERRNO, MmuError } from './errors.js';
import { PAGE_SIZE } from './pageTableEntry.js';

/** A file's size and the physical address of each of its pages. */
export interface InMemoryFile {
  readonly size: number;
  readonly pages: readonly number[];
}

/** A PageProvider over files kept entirely in guest memory. */
export class InMemoryPageProvider implements PageProvider {
  private readonly files = new Map<number, InMemoryFile>();
  private readonly u8: Uint8Array;
  private readonly phys: PhysicalPages | null;
  /** Pages written back by msync, for inspection: "file:offset". */
  readonly writes: string[] = [];

  /** `phys` is needed only to add files (not to serve pages). */
  constructor(memory: SharedArrayBuffer, phys: PhysicalPages | null) {
    this.u8 = new Uint8Array(memory);
    this.phys = phys;
  }

  /** Recreates a provider on another vCPU from `describe()`. */
  static fromDescription(memory: SharedArrayBuffer, files: Readonly<Record<number, InMemoryFile>>): InMemoryPageProvider {
    const p = new InMemoryPageProvider(memory, null);
    for (const [id, f] of Object.entries(files)) p.files.set(Number(id), f);
    return p;
  }

  /** The files as plain data (for postMessage to another vCPU). */
  describe(): Record<number, InMemoryFile> {
    return Object.fromEntries(this.files);
  }

  /** Adds file `id` with `content`; throws MmuError ENOMEM if pages run out, EINVAL without a PhysicalPages. */
  addFile(id: number, content: Uint8Array): void {
    if (this.phys === null) throw new MmuError('EINVAL', 'InMemoryPageProvider: addFile needs PhysicalPages');
    const pages: number[] = [];
    for (let off = 0; off < Math.max(content.length, 1); off += PAGE_SIZE) {
      const pa = this.phys.alloc('file');
      if (pa < 0) throw new MmuError('ENOMEM', `InMemoryPageProvider: no page for file ${id} at ${off}`);
      this.u8.fill(0, pa, pa + PAGE_SIZE);
      this.u8.set(content.subarray(off, Math.min(off + PAGE_SIZE, content.length)), pa);
      pages.push(pa);
    }
    this.files.set(id, { size: content.length, pages });
  }

  /** The file's current bytes (reads its frames). */
  read(id: number): Uint8Array {
    const f = this.files.get(id);
    if (f === undefined) throw new MmuError('EINVAL', `InMemoryPageProvider: no file ${id}`);
    const out = new Uint8Array(f.size);
    f.pages.forEach((pa, k) => out.set(this.u8.subarray(pa, pa + Math.min(PAGE_SIZE, f.size - k * PAGE_SIZE)), k * PAGE_SIZE));
    return out;
  }

  /** All bytes of the file's pages, including what lies past the end of file in the last page. */
  frames(id: number): Uint8Array {
    const f = this.files.get(id);
    if (f === undefined) throw new MmuError('EINVAL', `InMemoryPageProvider: no file ${id}`);
    const out = new Uint8Array(f.pages.length * PAGE_SIZE);
    f.pages.forEach((pa, k) => out.set(this.u8.subarray(pa, pa + PAGE_SIZE), k * PAGE_SIZE));
    return out;
  }

  fileSize(file: number): number {
    const f = this.files.get(file);
    return f === undefined ? -MMU_ERRNO.EINVAL : f.size;
  }

  getPage(file: number, offset: number): number {
    const pa = this.files.get(file)?.pages[offset / PAGE_SIZE];
    return pa === undefined ? -MMU_ERRNO.EIO : pa;
  }

  writePage(file: number, offset: number, phys: number): number {
    const pa = this.files.get(file)?.pages[offset / PAGE_SIZE];
    if (pa === undefined) return -MMU_ERRNO.EIO;
    if (pa !== phys) this.u8.copyWithin(pa, phys, phys + PAGE_SIZE);
    this.writes.push(`${file}:${offset}`);
    return 0;
  }
}
