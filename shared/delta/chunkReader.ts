import { deltaError } from './deltaErrors';

/**
 * Reads exact byte counts from an async source of chunks of one blob of known length. It never
 * reads, nor lets a caller allocate, past `blobLength`; a source that ends early is DeltaTruncated
 * and one that yields more is DeltaOversized.
 */
export class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkPos = 0;
  private received = 0;
  private consumed = 0;

  constructor(
    private readonly source: AsyncIterator<Uint8Array>,
    readonly blobLength: number,
  ) {}

  /** Blob offset of the next byte to read. */
  get offset(): number {
    return this.consumed;
  }

  /** Reads the next `length` bytes into a new Buffer, allocated only if the blob holds them. */
  async read(length: number): Promise<Buffer> {
    this.checkFits(length);
    const out = Buffer.allocUnsafe(length);
    await this.fill(out, 0);
    return out;
  }

  /** Fills `target` from `start` to its end with the next bytes. */
  async readInto(target: Buffer, start: number): Promise<void> {
    this.checkFits(target.length - start);
    await this.fill(target, start);
  }

  private async fill(target: Buffer, start: number): Promise<void> {
    let filled = start;
    while (filled < target.length) {
      if (this.chunkPos === this.chunk.length) await this.pull(target.length - filled);
      const take = Math.min(target.length - filled, this.chunk.length - this.chunkPos);
      target.set(this.chunk.subarray(this.chunkPos, this.chunkPos + take), filled);
      this.chunkPos += take;
      this.consumed += take;
      filled += take;
    }
  }

  /** After the last byte: the source must be done. */
  async expectEnd(): Promise<void> {
    while (this.chunkPos === this.chunk.length) {
      const next = await this.source.next();
      if (next.done) return;
      this.accept(next.value);
    }
    this.tooMuch();
  }

  /** Throws DeltaTruncated unless the blob still holds `length` more bytes; allocates nothing. */
  checkFits(length: number): void {
    if (this.consumed + length > this.blobLength) {
      throw deltaError(
        'DeltaTruncated',
        `delta needs ${length} more bytes but the blob ends ${this.blobLength - this.consumed} bytes on`,
        { at: this.consumed, needed: length, blobLength: this.blobLength },
      );
    }
  }

  private async pull(wanted: number): Promise<void> {
    const next = await this.source.next();
    if (next.done) {
      throw deltaError(
        'DeltaTruncated',
        `delta source ended after ${this.received} of ${this.blobLength} bytes, ${wanted} short of the next field`,
        { at: this.received, needed: wanted, blobLength: this.blobLength },
      );
    }
    this.accept(next.value);
  }

  private accept(chunk: Uint8Array): void {
    this.received += chunk.length;
    this.chunk = chunk;
    this.chunkPos = 0;
    if (this.received > this.blobLength) this.tooMuch();
  }

  private tooMuch(): never {
    throw deltaError('DeltaOversized', `delta source yields more than the blob's ${this.blobLength} bytes`, {
      at: this.blobLength,
      blobLength: this.blobLength,
      received: this.received,
    });
  }
}
