/** Recognising Azure Storage REST failures by HTTP status. */

export function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** 409 (already exists) or 412 (ETag mismatch): someone else wrote first. */
export function isWriteConflict(err: unknown): boolean {
  const status = statusOf(err);
  return status === 409 || status === 412;
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}
