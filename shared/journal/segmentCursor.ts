/**
 * Reads one journal segment front to back with ranged downloads and parses its frames across chunk
 * boundaries, indexing each sequence's first copy. The caller decides per frame whether to read its
 * body; a frame it does not want is jumped over, so its body is not downloaded unless the chunks
 * already requested hold it. After a wanted frame the next chunks download ahead (streaming);
 * after one skipped, a chunk is requested only when needed (the next frame may be skipped too).
 */
import { type BlobClient, RestError } from '@azure/storage-blob';

import { TidemarkError } from '../errors';
import { decodeFrameHeader, FRAME_HEADER_BYTES, type FrameHeader, journalCorrupt } from './frame';
import { SEGMENT_DELTAS } from './segments';

export interface FrameRef extends FrameHeader {
  /** Byte offset of the frame (its header) in the segment. */
  offset: number;
}

export interface CursorOptions {
  /** Bytes per ranged download. */
  chunkBytes: number;
  /** Downloads in flight while streaming. */
  readAheadChunks: number;
  /** Where to start: 0, or the end of frames read before (`offset`). */
  from?: number;
}

/** open: more frames may follow; end: none after the last one as last looked; absent: no such blob (404). */
export type SegmentState = 'open' | 'end' | 'absent';

type ChunkResult =
  { kind: 'bytes'; bytes: Buffer; total: number } | { kind: 'end'; total?: number } | { kind: 'absent' };

interface Chunk {
  start: number;
  count: number;
  result: Promise<ChunkResult>;
  abort: AbortController;
}

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * How segments are read unless told otherwise: 8 MiB per ranged download, not 4, because Azurite
 * MD5-hashes every ranged read of 4 MiB or less (Azure does not), which costs it half its read
 * throughput; 4 downloads in flight while streaming.
 */
export const SEGMENT_READ: Readonly<Pick<CursorOptions, 'chunkBytes' | 'readAheadChunks'>> = {
  chunkBytes: 8 * 1024 * 1024,
  readAheadChunks: 4,
};

export class SegmentCursor {
  /** Every frame parsed so far, by sequence: the first copy of each. */
  readonly frames = new Map<number, FrameRef>();
  #state: SegmentState = 'open';
  /** Where the next frame starts: every frame before it is indexed. */
  #pos = 0;
  /** The segment's length as last seen. */
  #size?: number;
  /** Bytes received and not consumed, from #bufStart; bytes before #pos in it are stale. */
  #buf: Buffer = EMPTY;
  #bufStart = 0;
  /** Downloads in flight, contiguous from the end of #buf. */
  #chunks: Chunk[] = [];
  #streaming = false;

  constructor(
    private readonly blob: BlobClient,
    readonly start: number,
    private readonly options: CursorOptions,
  ) {
    this.#pos = this.#bufStart = options.from ?? 0;
  }

  get state(): SegmentState {
    return this.#state;
  }

  /** The end of the frames read so far. */
  get offset(): number {
    return this.#pos;
  }

  /** Looks again after the end (the segment may have grown, or been created since). */
  reopen(): void {
    if (this.#state !== 'open') this.#state = 'open';
  }

  close(): void {
    this.#dropChunks();
  }

  /**
   * The next frame's first copy in blob order, with its body when `want(header)` says so; duplicates
   * are passed over. Undefined once the segment ends (state then says end or absent, also when it
   * goes while a body is read).
   */
  async next(want: (header: FrameHeader) => boolean): Promise<{ ref: FrameRef; body?: Buffer } | undefined> {
    for (;;) {
      if (this.#state !== 'open') return undefined;
      const offset = this.#pos;
      const bytes = await this.#header();
      if (!bytes) return undefined;
      const header = decodeFrameHeader(bytes, 0, { blobName: this.blob.name, offset });
      const end = offset + FRAME_HEADER_BYTES + header.length;
      if (header.sequence < this.start || header.sequence >= this.start + SEGMENT_DELTAS) {
        throw this.#corrupt(offset, `holds sequence ${header.sequence}, outside the segment`, {
          sequence: header.sequence,
        });
      }
      // An append block is atomic: the answer that held the header held the whole frame.
      if (this.#size !== undefined && end > this.#size) {
        throw this.#corrupt(offset, `runs to byte ${end}, past the segment's end (${this.#size})`);
      }
      const ref: FrameRef = { ...header, offset };
      const first = !this.frames.has(header.sequence);
      if (first) this.frames.set(header.sequence, ref);
      if (first && want(header)) {
        this.#streaming = true;
        const body = await this.#take(offset + FRAME_HEADER_BYTES, header.length);
        if (!body) return undefined;
        this.#issue(false);
        return { ref, body };
      }
      this.#skip(end);
      if (first) return { ref };
    }
  }

  /** A frame's body by range (one indexed but not kept); undefined when the segment is gone. */
  async readBody(ref: FrameRef): Promise<Buffer | undefined> {
    try {
      return await this.blob.downloadToBuffer(ref.offset + FRAME_HEADER_BYTES, ref.length, {
        blockSize: this.options.chunkBytes,
        concurrency: this.options.readAheadChunks,
      });
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  get #bufEnd(): number {
    return this.#bufStart + this.#buf.length;
  }

  /** The header bytes at #pos (a view, or put together across two chunks); undefined at the end. */
  async #header(): Promise<Buffer | undefined> {
    const at = this.#pos;
    if (this.#bufStart <= at && at + FRAME_HEADER_BYTES <= this.#bufEnd) {
      return this.#buf.subarray(at - this.#bufStart, at - this.#bufStart + FRAME_HEADER_BYTES);
    }
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    let filled =
      this.#bufStart <= at && at < this.#bufEnd ? this.#buf.copy(header, 0, at - this.#bufStart) : 0;
    while (filled < FRAME_HEADER_BYTES) {
      this.#pos = at + filled;
      const got = await this.#receive();
      this.#pos = at;
      if (!got) {
        if (this.#state === 'absent') return undefined;
        if (filled === 0 && at === this.#size) {
          this.#state = 'end';
          return undefined;
        }
        throw this.#corrupt(at, `is cut off: the segment ends at byte ${this.#size ?? at + filled}`);
      }
      // A chunk wholly before the header (the end of a frame passed over) leaves #buf empty.
      const from = at + filled - this.#bufStart;
      if (from < this.#buf.length) filled += this.#buf.copy(header, filled, from);
    }
    return header;
  }

  /**
   * The `length` bytes from `from` (#pos's frame body): a view into the chunk that holds them all,
   * else a copy put together from the chunks. Undefined when the segment is gone meanwhile.
   */
  async #take(from: number, length: number): Promise<Buffer | undefined> {
    if (this.#bufStart <= from && from + length <= this.#bufEnd) {
      this.#pos = from + length;
      return this.#buf.subarray(from - this.#bufStart, from + length - this.#bufStart);
    }
    const body = Buffer.allocUnsafe(length);
    let filled =
      this.#bufStart <= from && from < this.#bufEnd
        ? this.#buf.copy(
            body,
            0,
            from - this.#bufStart,
            Math.min(this.#bufEnd, from + length) - this.#bufStart,
          )
        : 0;
    this.#pos = from + filled;
    while (filled < length) {
      if (!(await this.#receive())) {
        if (this.#state === 'absent') return undefined;
        throw this.#corrupt(from - FRAME_HEADER_BYTES, 'is cut off at the segment end');
      }
      const n = this.#buf.copy(
        body,
        filled,
        this.#pos - this.#bufStart,
        Math.min(this.#buf.length, this.#pos - this.#bufStart + length - filled),
      );
      filled += n;
      this.#pos += n;
    }
    return body;
  }

  /** Passes over bytes up to `end`: a jump when they are beyond what is received or requested. */
  #skip(end: number): void {
    this.#pos = end;
    this.#streaming = false;
    const requested = this.#chunks.at(-1);
    const streamEnd = requested ? requested.start + requested.count : this.#bufEnd;
    if (end <= streamEnd) return;
    this.#dropChunks();
    this.#buf = EMPTY;
    this.#bufStart = end;
  }

  /**
   * Requests chunks from the end of what is received or requested: ahead, within the known length,
   * while streaming; `needed`, one chunk when none is in flight, past the known end if need be (to
   * learn the length, or whether the segment grew).
   */
  #issue(needed: boolean): void {
    const window = this.#streaming ? this.options.readAheadChunks : 1;
    while (this.#chunks.length < window) {
      const last = this.#chunks.at(-1);
      const at = last ? last.start + last.count : Math.max(this.#bufEnd, this.#pos);
      const known = this.#size !== undefined && at < this.#size;
      if (needed ? this.#chunks.length > 0 && !known : !known || !this.#streaming) return;
      const count = known ? Math.min(this.options.chunkBytes, this.#size! - at) : this.options.chunkBytes;
      const abort = new AbortController();
      const result = this.#download(at, count, abort.signal);
      result.catch(() => undefined);
      this.#chunks.push({ start: at, count, result, abort });
      if (!this.#streaming) return;
    }
  }

  /**
   * Makes the next chunk #buf (from #pos, when the chunk starts before it); the caller has taken
   * what it needed of the one before. False at the end of the blob, or when it is absent.
   */
  async #receive(): Promise<boolean> {
    if (this.#chunks.length === 0) this.#issue(true);
    const chunk = this.#chunks.shift()!;
    const result = await chunk.result;
    if (result.kind === 'absent') {
      this.#state = 'absent';
      this.#dropChunks();
      return false;
    }
    if (result.total !== undefined) this.#size = Math.max(this.#size ?? 0, result.total);
    if (result.kind === 'end') {
      this.#size = Math.min(this.#size ?? chunk.start, chunk.start);
      this.#dropChunks();
      return false;
    }
    const { bytes } = result;
    // A short answer: the blob ended there, so chunks requested after it do not follow on.
    if (bytes.length < chunk.count) this.#dropChunks();
    const skip = Math.min(bytes.length, Math.max(0, this.#pos - chunk.start));
    this.#buf = bytes.subarray(skip);
    this.#bufStart = chunk.start + skip;
    this.#issue(false);
    return true;
  }

  async #download(offset: number, count: number, abortSignal: AbortSignal): Promise<ChunkResult> {
    try {
      const response = await this.blob.download(offset, count, { abortSignal });
      const length = response.contentLength ?? 0;
      const bytes = await readAll(response.readableStreamBody, length);
      if (bytes.length < length) {
        throw new TidemarkError(
          'StorageUnavailable',
          `Reading journal segment ${this.blob.name} stopped after ${bytes.length} of ${length} bytes.`,
          { details: { blobName: this.blob.name, offset, received: bytes.length, contentLength: length } },
        );
      }
      const total = totalOf(response.contentRange) ?? offset + length;
      // Azurite answers a range starting at the end with no bytes; Azure with 416.
      if (length === 0) return { kind: 'end', total };
      return { kind: 'bytes', bytes, total };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 416) return { kind: 'end' };
      if (err instanceof RestError && err.statusCode === 404) return { kind: 'absent' };
      throw err;
    }
  }

  #dropChunks(): void {
    for (const chunk of this.#chunks) chunk.abort.abort();
    this.#chunks = [];
  }

  #corrupt(offset: number, problem: string, facts: Record<string, unknown> = {}): TidemarkError {
    return journalCorrupt(this.blob.name, offset, problem, facts);
  }
}

/** The total length in a Content-Range answer (`bytes 0-99/1234`). */
function totalOf(contentRange: string | undefined): number | undefined {
  const match = /\/([0-9]+)$/.exec(contentRange ?? '');
  return match ? Number(match[1]) : undefined;
}

async function readAll(stream: NodeJS.ReadableStream | undefined, length: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let filled = 0;
  if (stream) {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const take = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, take);
      filled += take;
    }
  }
  return filled === length ? out : out.subarray(0, filled);
}
