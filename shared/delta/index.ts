/** The delta codec, format version 1. The byte layout is in docs/delta-format.md. */
export { encodeDelta } from './encode';
export { decodeDelta } from './decode';
export { decodeDeltaStream } from './decodeStream';
export { readDeltaHeader } from './header';
export { entryLength, isZeroEntry } from './entry';
export { deltaBlobName, deltaBlobPrefix, parseDeltaBlobName, type DeltaBlobName } from './blobName';
export { deltaBlobMetadata, parseDeltaBlobMetadata, type DeltaBlobMetadata } from './blobMetadata';
export {
  DELTA_VERSION,
  MAX_ENTRY_BYTES,
  MAX_HEADER_BYTES,
  MAX_VM_ID_BYTES,
  MAX_ZERO_ENTRY_BYTES,
  SECTOR_BYTES,
} from './constants';
export type {
  DecodeDeltaOptions,
  DecodeDeltaStreamOptions,
  Delta,
  DeltaCompression,
  DeltaDataEntry,
  DeltaEntry,
  DeltaExpectation,
  DeltaHeader,
  DeltaStreamItem,
  DeltaZeroEntry,
  EncodeDeltaOptions,
} from './types';
