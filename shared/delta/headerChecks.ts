import { HEADER } from './constants';
import { deltaError } from './deltaErrors';
import type { DeltaExpectation, DeltaHeader } from './types';

/** Rejects a blob bigger than the caller accepts, before anything is read or allocated. */
export function checkMaxBytes(blobLength: number, maxBytes: number | undefined): void {
  if (maxBytes !== undefined && blobLength > maxBytes) {
    throw deltaError(
      'DeltaOversized',
      `delta blob is ${blobLength} bytes, more than the ${maxBytes} accepted`,
      {
        at: 0,
        blobLength,
        maxBytes,
      },
    );
  }
}

/** The blob must be exactly as long as its header declares. */
export function checkBlobLength(header: DeltaHeader, blobLength: number): void {
  if (blobLength < header.blobLength) {
    throw deltaError(
      'DeltaTruncated',
      `delta blob is ${blobLength} bytes but its header declares ${header.blobLength}`,
      { at: blobLength, expected: header.blobLength, actual: blobLength },
    );
  }
  if (blobLength > header.blobLength) {
    throw deltaError(
      'DeltaOversized',
      `delta blob is ${blobLength} bytes, ${blobLength - header.blobLength} more than its header declares`,
      { at: header.blobLength, expected: header.blobLength, actual: blobLength },
    );
  }
}

export function checkExpectation(header: DeltaHeader, expect: DeltaExpectation | undefined): void {
  if (expect?.vmId !== undefined && header.vmId !== expect.vmId) {
    throw deltaError('DeltaMalformed', `delta is for VM ${header.vmId}, expected ${expect.vmId}`, {
      at: HEADER.vmId,
      field: 'vmId',
      expected: expect.vmId,
      actual: header.vmId,
    });
  }
  if (expect?.generation !== undefined && header.generation !== expect.generation) {
    throw deltaError(
      'DeltaBadGeneration',
      `delta generation ${header.generation} is not the replication generation ${expect.generation}`,
      { at: HEADER.generation, expected: expect.generation, actual: header.generation },
    );
  }
  if (expect?.sequence !== undefined && header.sequence !== expect.sequence) {
    throw deltaError(
      'DeltaMalformed',
      `delta sequence ${header.sequence} is not the expected ${expect.sequence}`,
      {
        at: HEADER.sequence,
        field: 'sequence',
        expected: expect.sequence,
        actual: header.sequence,
      },
    );
  }
}
