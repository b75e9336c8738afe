/** Byte helpers: u64 fields as JS numbers (safe integers only) and Buffer views of Uint8Arrays. */

// Two u32 halves rather than BigInt: this runs for every entry, and BigInt allocates.
const TWO_32 = 2 ** 32;
const MAX_SAFE_HIGH = 2 ** 21;

export function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % TWO_32, at);
  buf.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}

/** The value, or undefined when it is above Number.MAX_SAFE_INTEGER. */
export function readU64(buf: Buffer, at: number): number | undefined {
  const high = buf.readUInt32LE(at + 4);
  return high >= MAX_SAFE_HIGH ? undefined : high * TWO_32 + buf.readUInt32LE(at);
}

export function isU64(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A Buffer over the same memory, no copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
