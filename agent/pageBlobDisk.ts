/**
 * A VM disk stored as a page blob (how Azure stores unmanaged disks, and how tidemark keeps source
 * disks and replicas). Any byte range can be read or written; partial pages are read, merged and
 * written back whole. Operations on one disk run one at a time, so a read-modify-write never
 * interleaves with another write to the same pages.
 */
import type { PageBlobClient } from '@azure/storage-blob';

import { TidemarkError } from '../shared/errors';
import { alignDown, alignUp, alignWrite, PAGE } from './alignment';
import type { BlockDevice } from './blockDevice';

/** Put Page takes at most 4 MiB per call. */
export const MAX_PUT_PAGE = 4 * 1024 * 1024;

export class PageBlobDisk implements BlockDevice {
  #tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly blob: PageBlobClient,
  ) {}

  /** Opens an existing page blob as a disk. */
  static async open(name: string, blob: PageBlobClient): Promise<PageBlobDisk> {
    const props = await blob.getProperties();
    if (props.blobType !== 'PageBlob') {
      throw new TidemarkError('InvalidArgument', `${blob.url} is a ${props.blobType}, not a page blob disk.`);
    }
    return new PageBlobDisk(name, props.contentLength ?? 0, blob);
  }

  /** Creates the page blob if it does not exist (an existing one keeps its data and size). */
  static async create(name: string, blob: PageBlobClient, size: number): Promise<PageBlobDisk> {
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE !== 0) {
      throw new TidemarkError(
        'InvalidArgument',
        `Disk size ${size} is not a positive multiple of 512 bytes.`,
      );
    }
    await blob.createIfNotExists(size);
    return PageBlobDisk.open(name, blob);
  }

  read(offset: number, length: number): Promise<Buffer> {
    this.#check('read', offset, length);
    return this.#serial(() => this.#read(offset, length));
  }

  write(offset: number, data: Buffer, _options: { fua: boolean }): Promise<void> {
    this.#check('write', offset, data.length);
    return this.#serial(async () => {
      const aligned = await alignWrite(offset, data, (o, l) => this.#read(o, l));
      await this.#putPages(aligned.offset, aligned.data);
    });
  }

  writeZeroes(offset: number, length: number, _options: { fua: boolean; mayTrim: boolean }): Promise<void> {
    this.#check('write zeroes to', offset, length);
    return this.#serial(() => this.#zero(offset, length));
  }

  /** Page blobs read cleared pages as zeroes, so a trim is a zeroing clear. */
  trim(offset: number, length: number): Promise<void> {
    this.#check('trim', offset, length);
    return this.#serial(() => this.#zero(offset, length));
  }

  /** Put Page is durable once acknowledged; there is nothing to flush. */
  async flush(): Promise<void> {
    await this.#serial(async () => undefined);
  }

  /** Allocated (written, not cleared) ranges: what initial replication needs to copy. */
  async allocatedRanges(): Promise<{ offset: number; count: number }[]> {
    const out: { offset: number; count: number }[] = [];
    for await (const range of this.blob.listPageRanges()) {
      if (!range.isClear) out.push({ offset: range.start, count: range.end - range.start + 1 });
    }
    return out;
  }

  async #read(offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    return this.blob.downloadToBuffer(offset, length);
  }

  async #putPages(offset: number, data: Buffer): Promise<void> {
    for (let at = 0; at < data.length; at += MAX_PUT_PAGE) {
      const piece = data.subarray(at, Math.min(data.length, at + MAX_PUT_PAGE));
      await this.blob.uploadPages(piece, offset + at, piece.length);
    }
  }

  async #zero(offset: number, length: number): Promise<void> {
    if (length === 0) return;
    const innerStart = alignUp(offset);
    const innerEnd = alignDown(offset + length);
    if (innerEnd <= innerStart) {
      const aligned = await alignWrite(offset, Buffer.alloc(length), (o, l) => this.#read(o, l));
      await this.#putPages(aligned.offset, aligned.data);
      return;
    }
    if (innerStart > offset) {
      const head = await alignWrite(offset, Buffer.alloc(innerStart - offset), (o, l) => this.#read(o, l));
      await this.#putPages(head.offset, head.data);
    }
    await this.blob.clearPages(innerStart, innerEnd - innerStart);
    if (offset + length > innerEnd) {
      const tail = await alignWrite(innerEnd, Buffer.alloc(offset + length - innerEnd), (o, l) =>
        this.#read(o, l),
      );
      await this.#putPages(tail.offset, tail.data);
    }
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(op, op);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #check(what: string, offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new TidemarkError(
        'InvalidArgument',
        `Cannot ${what} disk ${this.name}: bad range ${offset}+${length}.`,
      );
    }
    if (offset + length > this.size) {
      throw new TidemarkError(
        'InvalidArgument',
        `Cannot ${what} disk ${this.name}: ${offset}+${length} runs past its end (${this.size} bytes).`,
      );
    }
  }
}
