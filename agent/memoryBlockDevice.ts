import { TidemarkError } from '../shared/errors';
import type { BlockDevice } from './blockDevice';

const DEFAULT_CHUNK_SIZE = 64 * 1024;

export interface MemoryBlockDeviceOptions {
  /** Allocation unit; a power of two. Default 64 KiB. */
  chunkSize?: number;
}

/**
 * A sparse in-memory disk for tests: only chunks ever written hold memory, holes read as zeroes.
 * Trimmed and zeroed ranges read back as zeroes.
 */
export class MemoryBlockDevice implements BlockDevice {
  private readonly chunks = new Map<number, Buffer>();
  private readonly chunkSize: number;
  /** How many flushes reached the device; FUA writes count as their own flush. */
  flushCount = 0;

  constructor(
    readonly name: string,
    readonly size: number,
    options: MemoryBlockDeviceOptions = {},
  ) {
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(size) || size < 0 || size % 512 !== 0) {
      throw new TidemarkError('InvalidArgument', `device size ${size} is not a multiple of 512`, {
        details: { name, size },
      });
    }
    if (this.chunkSize < 512 || (this.chunkSize & (this.chunkSize - 1)) !== 0) {
      throw new TidemarkError('InvalidArgument', `chunk size ${this.chunkSize} is not a power of two ≥ 512`);
    }
  }

  /** Number of chunks holding memory. */
  get allocatedChunks(): number {
    return this.chunks.size;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange('read', offset, length);
    const out = Buffer.alloc(length);
    this.forEachSpan(offset, length, (index, start, end, at) => {
      this.chunks.get(index)?.copy(out, at, start, end);
    });
    return out;
  }

  async write(offset: number, data: Buffer, options: { fua: boolean }): Promise<void> {
    this.checkRange('write', offset, data.length);
    this.forEachSpan(offset, data.length, (index, start, end, at) => {
      data.copy(this.chunk(index), start, at, at + (end - start));
    });
    if (options.fua) this.flushCount++;
  }

  async writeZeroes(
    offset: number,
    length: number,
    options: { fua: boolean; mayTrim: boolean },
  ): Promise<void> {
    this.checkRange('writeZeroes', offset, length);
    this.forEachSpan(offset, length, (index, start, end) => {
      if (options.mayTrim && start === 0 && end === this.chunkSize) this.chunks.delete(index);
      else if (!options.mayTrim) this.chunk(index).fill(0, start, end);
      else this.chunks.get(index)?.fill(0, start, end);
    });
    if (options.fua) this.flushCount++;
  }

  async trim(offset: number, length: number): Promise<void> {
    await this.writeZeroes(offset, length, { fua: false, mayTrim: true });
  }

  async flush(): Promise<void> {
    this.flushCount++;
  }

  /** The whole disk as one buffer; for byte-for-byte comparisons in tests. */
  snapshot(): Buffer {
    const out = Buffer.alloc(this.size);
    for (const [index, chunk] of this.chunks) chunk.copy(out, index * this.chunkSize);
    return out;
  }

  private chunk(index: number): Buffer {
    let chunk = this.chunks.get(index);
    if (!chunk) {
      // The last chunk may be short when the size is not a multiple of the chunk size.
      chunk = Buffer.alloc(Math.min(this.chunkSize, this.size - index * this.chunkSize));
      this.chunks.set(index, chunk);
    }
    return chunk;
  }

  /** Calls `fn(chunkIndex, startInChunk, endInChunk, offsetInRequest)` for each chunk the range touches. */
  private forEachSpan(
    offset: number,
    length: number,
    fn: (index: number, start: number, end: number, at: number) => void,
  ): void {
    let at = 0;
    while (at < length) {
      const position = offset + at;
      const index = Math.floor(position / this.chunkSize);
      const start = position - index * this.chunkSize;
      const end = Math.min(this.chunkSize, start + (length - at), this.size - index * this.chunkSize);
      fn(index, start, end, at);
      at += end - start;
    }
  }

  private checkRange(op: string, offset: number, length: number): void {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.size
    ) {
      throw new TidemarkError(
        'InvalidArgument',
        `${op} of ${length} bytes at ${offset} is outside the device`,
        {
          details: { device: this.name, size: this.size, offset, length },
        },
      );
    }
  }
}
