/**
 * Turning an arbitrary byte write into whole 512-byte pages: read the first and last page it
 * touches, lay the new bytes over them. Page blobs (and the delta format) only take whole pages.
 */
export const PAGE = 512;

export function alignDown(n: number): number {
  return n - (n % PAGE);
}

export function alignUp(n: number): number {
  return n % PAGE === 0 ? n : n + PAGE - (n % PAGE);
}

export function isAligned(offset: number, length: number): boolean {
  return offset % PAGE === 0 && length % PAGE === 0;
}

/**
 * Widens a write to page boundaries, reading the partial edge pages through `readPages`
 * (called with aligned offsets and lengths only). Aligned writes pass through untouched.
 */
export async function alignWrite(
  offset: number,
  data: Buffer,
  readPages: (offset: number, length: number) => Promise<Buffer>,
): Promise<{ offset: number; data: Buffer }> {
  if (isAligned(offset, data.length)) return { offset, data };
  if (data.length === 0) return { offset: alignDown(offset), data };
  const start = alignDown(offset);
  const end = alignUp(offset + data.length);
  const merged = Buffer.alloc(end - start);
  const firstPageEnd = start + PAGE;
  const lastPageStart = end - PAGE;
  if (offset > start || offset + data.length < firstPageEnd) {
    (await readPages(start, PAGE)).copy(merged, 0);
  }
  if (lastPageStart > start && offset + data.length < end) {
    (await readPages(lastPageStart, PAGE)).copy(merged, lastPageStart - start);
  }
  data.copy(merged, offset - start);
  return { offset: start, data: merged };
}
