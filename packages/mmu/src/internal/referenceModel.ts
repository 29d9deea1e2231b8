/**
 * A deliberately simple model of the address space's observable behaviour,
 * for differential tests: one record per mapped page (protection, backing,
 * private data) and each file's bytes. No page tables, no TLB, no huge pages,
 * no sharing of code with the real implementation. Semantics follow Linux:
 * PROT_WRITE/EXEC imply read, MAP_PRIVATE file pages show the file until
 * written, MADV_DONTNEED zero-fills private anonymous memory and re-reads
 * private file pages but keeps shared memory, faults past the end of the file
 * are bus errors.
 */
import { FAULT } from '../errors.js';
import { MAP_ANONYMOUS, MAP_SHARED, PROT_NONE, PROT_WRITE } from '../mmapFlags.js';
import { PAGE_SIZE } from '../pageTableEntry.js';

interface ModelPage {
  prot: number;
  anon: boolean;
  shared: boolean;
  file: number;
  fileOff: number;
  /** Private bytes (anonymous memory or a written private file page); null = zeros / the file. */
  data: Uint8Array | null;
}

/** A fault the model predicts: first faulting address and FAULT code. */
export interface ModelFault {
  readonly address: number;
  readonly code: number;
}

/** The reference model. */
export class ReferenceModel {
  private readonly pages = new Map<number, ModelPage>();
  private readonly files = new Map<number, Uint8Array>();

  /** Adds a file (its bytes are copied, padded to whole pages). */
  addFile(id: number, content: Uint8Array): void {
    const padded = new Uint8Array(Math.ceil(Math.max(content.length, 1) / PAGE_SIZE) * PAGE_SIZE);
    padded.set(content);
    this.files.set(id, padded);
  }

  /** True if any page of [addr, addr+len) is mapped. */
  anyMapped(addr: number, len: number): boolean {
    for (let va = addr; va < addr + len; va += PAGE_SIZE) if (this.pages.has(va / PAGE_SIZE)) return true;
    return false;
  }

  /** True if every page of [addr, addr+len) is mapped. */
  allMapped(addr: number, len: number): boolean {
    for (let va = addr; va < addr + len; va += PAGE_SIZE) if (!this.pages.has(va / PAGE_SIZE)) return false;
    return true;
  }

  /** Records an mmap the real system placed at `addr` (after MAP_FIXED's implicit unmap). */
  mmap(addr: number, len: number, prot: number, flags: number, file: number, offset: number): void {
    const anon = (flags & MAP_ANONYMOUS) !== 0;
    for (let k = 0; k < len / PAGE_SIZE; k++) {
      this.pages.set(addr / PAGE_SIZE + k, { prot, anon, shared: (flags & MAP_SHARED) !== 0, file: anon ? 0 : file, fileOff: anon ? 0 : offset + k * PAGE_SIZE, data: null });
    }
  }

  /** munmap. */
  munmap(addr: number, len: number): void {
    for (let va = addr; va < addr + len; va += PAGE_SIZE) this.pages.delete(va / PAGE_SIZE);
  }

  /** mprotect: 0 or the expected errno name. */
  mprotect(addr: number, len: number, prot: number): 'ENOMEM' | 0 {
    if (!this.allMapped(addr, len)) return 'ENOMEM';
    for (let va = addr; va < addr + len; va += PAGE_SIZE) this.pages.get(va / PAGE_SIZE)!.prot = prot;
    return 0;
  }

  /** madvise(MADV_DONTNEED). */
  dontneed(addr: number, len: number): 'ENOMEM' | 0 {
    if (!this.allMapped(addr, len)) return 'ENOMEM';
    for (let va = addr; va < addr + len; va += PAGE_SIZE) {
      const p = this.pages.get(va / PAGE_SIZE)!;
      if (!p.shared) p.data = null;
    }
    return 0;
  }

  private compatible(a: ModelPage, b: ModelPage): boolean {
    return a.prot === b.prot && a.anon === b.anon && a.shared === b.shared && a.file === b.file && (a.anon || b.fileOff === a.fileOff + PAGE_SIZE);
  }

  /** True if [addr, addr+len) lies inside one mapping (mapped, and every page continues the previous one). */
  oneMapping(addr: number, len: number): boolean {
    let prev: ModelPage | undefined;
    for (let va = addr; va < addr + len; va += PAGE_SIZE) {
      const p = this.pages.get(va / PAGE_SIZE);
      if (p === undefined || (prev !== undefined && !this.compatible(prev, p))) return false;
      prev = p;
    }
    return true;
  }

  /** Applies an mremap that returned `to` (the old range passed oneMapping). */
  mremap(old: number, oldLen: number, newLen: number, to: number): void {
    const moved: ModelPage[] = [];
    for (let k = 0; k < oldLen / PAGE_SIZE; k++) moved.push(this.pages.get(old / PAGE_SIZE + k)!);
    this.munmap(old, oldLen);
    const last = moved[moved.length - 1]!;
    for (let k = 0; k < newLen / PAGE_SIZE; k++) {
      const p = moved[k] ?? { ...last, data: null, fileOff: last.fileOff + (k - moved.length + 1) * PAGE_SIZE };
      this.pages.set(to / PAGE_SIZE + k, p);
    }
  }

  /** The fault code an access to page `va` would take, or 0. */
  private faultAt(va: number, write: boolean): number {
    const p = this.pages.get(Math.floor(va / PAGE_SIZE));
    if (p === undefined) return FAULT.MAPERR;
    if (p.prot === PROT_NONE || (write && (p.prot & PROT_WRITE) === 0)) return FAULT.ACCERR;
    if (!p.anon && p.fileOff >= this.files.get(p.file)!.length) return FAULT.BUS;
    return 0;
  }

  private bytesOf(p: ModelPage): Uint8Array {
    if (p.data !== null) return p.data;
    if (p.anon) return new Uint8Array(PAGE_SIZE);
    return this.files.get(p.file)!.subarray(p.fileOff, p.fileOff + PAGE_SIZE);
  }

  /** Reads [addr, addr+len): the bytes, or the first fault. */
  read(addr: number, len: number): { bytes: Uint8Array; fault: ModelFault | null } {
    const out = new Uint8Array(len);
    for (let done = 0; done < len; ) {
      const va = addr + done;
      const code = this.faultAt(va, false);
      if (code !== 0) return { bytes: out, fault: { address: va, code } };
      const n = Math.min(len - done, PAGE_SIZE - (va % PAGE_SIZE));
      const page = this.bytesOf(this.pages.get(Math.floor(va / PAGE_SIZE))!);
      out.set(page.subarray(va % PAGE_SIZE, (va % PAGE_SIZE) + n), done);
      done += n;
    }
    return { bytes: out, fault: null };
  }

  /**
   * Writes `bytes` at `addr` page by page until the first fault, which it
   * returns. `atomic` (a scalar store, as x86 does it): a fault on any page
   * leaves every byte unwritten.
   */
  write(addr: number, bytes: Uint8Array, atomic = false): ModelFault | null {
    if (atomic) {
      for (let done = 0; done < bytes.length; ) {
        const va = addr + done;
        const code = this.faultAt(va, true);
        if (code !== 0) return { address: va, code };
        done += Math.min(bytes.length - done, PAGE_SIZE - (va % PAGE_SIZE));
      }
    }
    for (let done = 0; done < bytes.length; ) {
      const va = addr + done;
      const code = this.faultAt(va, true);
      if (code !== 0) return { address: va, code };
      const n = Math.min(bytes.length - done, PAGE_SIZE - (va % PAGE_SIZE));
      const p = this.pages.get(Math.floor(va / PAGE_SIZE))!;
      let target: Uint8Array;
      if (!p.anon && p.shared) target = this.files.get(p.file)!.subarray(p.fileOff, p.fileOff + PAGE_SIZE);
      else {
        if (p.data === null) p.data = new Uint8Array(this.bytesOf(p));
        target = p.data;
      }
      target.set(bytes.subarray(done, done + n), va % PAGE_SIZE);
      done += n;
    }
    return null;
  }

  /** The file's bytes as the model holds them (padded to whole pages). */
  file(id: number): Uint8Array {
    return this.files.get(id)!;
  }
}
