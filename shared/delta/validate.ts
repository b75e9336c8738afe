import { MAX_ENTRY_BYTES, MAX_ZERO_ENTRY_BYTES, SECTOR_BYTES } from './constants';
import { invalidDelta } from './deltaErrors';
import type { Delta, DeltaEntry } from './types';
import { isU64 } from './bytes';
import { isZeroEntry } from './entry';
import { vmIdProblem } from './vmId';

function checkU64(field: string, value: unknown): void {
  if (!isU64(value)) throw invalidDelta(field, 'must be an integer from 0 to 2^53 - 1', value);
}

/** The length the entry covers on its disk; throws unless it is a valid data or zero entry. */
function checkEntryBody(entry: DeltaEntry, field: string): number {
  if (isZeroEntry(entry)) {
    if ('data' in entry) throw invalidDelta(field, 'has both data and zeroLength; a zero entry has no data');
    const length: unknown = entry.zeroLength;
    if (
      !isU64(length) ||
      length < SECTOR_BYTES ||
      length % SECTOR_BYTES !== 0 ||
      length > MAX_ZERO_ENTRY_BYTES
    ) {
      throw invalidDelta(
        `${field}.zeroLength`,
        `must be a multiple of ${SECTOR_BYTES} from ${SECTOR_BYTES} to ${MAX_ZERO_ENTRY_BYTES}`,
        length,
      );
    }
    return length;
  }
  if (!((entry as { data?: unknown }).data instanceof Uint8Array)) {
    throw invalidDelta(`${field}.data`, 'must be a Buffer');
  }
  const length = entry.data.length;
  if (length === 0 || length % SECTOR_BYTES !== 0 || length > MAX_ENTRY_BYTES) {
    throw invalidDelta(
      `${field}.data`,
      `is ${length} bytes; it must be a multiple of ${SECTOR_BYTES} from ${SECTOR_BYTES} to ${MAX_ENTRY_BYTES}`,
      length,
    );
  }
  return length;
}

function checkEntry(entry: DeltaEntry, index: number): void {
  const field = `entries[${index}]`;
  if (typeof entry !== 'object' || entry === null) throw invalidDelta(field, 'must be an object');
  if (!Number.isInteger(entry.disk) || entry.disk < 0 || entry.disk > 0xffff) {
    throw invalidDelta(`${field}.disk`, 'must be an integer from 0 to 65535', entry.disk);
  }
  checkU64(`${field}.offset`, entry.offset);
  if (entry.offset % SECTOR_BYTES !== 0) {
    throw invalidDelta(`${field}.offset`, `must be a multiple of ${SECTOR_BYTES}`, entry.offset);
  }
  const length = checkEntryBody(entry, field);
  if (entry.offset + length > Number.MAX_SAFE_INTEGER) {
    throw invalidDelta(field, 'ends past byte 2^53 - 1 of its disk', entry.offset);
  }
}

/** Throws InvalidArgument for anything encodeDelta cannot write faithfully. */
export function validateDelta(delta: Delta): void {
  const vmIdIssue = typeof delta.vmId === 'string' ? vmIdProblem(delta.vmId) : 'is not a string';
  if (vmIdIssue) throw invalidDelta('vmId', vmIdIssue, delta.vmId);
  checkU64('generation', delta.generation);
  checkU64('sequence', delta.sequence);
  checkU64('firstWriteTime', delta.firstWriteTime);
  checkU64('lastWriteTime', delta.lastWriteTime);
  if (delta.firstWriteTime > delta.lastWriteTime) {
    throw invalidDelta(
      'firstWriteTime',
      `${delta.firstWriteTime} is after lastWriteTime ${delta.lastWriteTime}`,
    );
  }
  if (typeof delta.appConsistent !== 'boolean') throw invalidDelta('appConsistent', 'must be a boolean');
  if (typeof delta.heartbeat !== 'boolean') throw invalidDelta('heartbeat', 'must be a boolean');
  if (delta.resyncRequired !== undefined && typeof delta.resyncRequired !== 'boolean') {
    throw invalidDelta('resyncRequired', 'must be a boolean when present');
  }
  if (!Array.isArray(delta.entries)) throw invalidDelta('entries', 'must be an array');
  if (delta.heartbeat && delta.entries.length > 0) {
    throw invalidDelta('entries', `has ${delta.entries.length} entries; a heartbeat has none`);
  }
  delta.entries.forEach(checkEntry);
}
