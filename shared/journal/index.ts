/** The journal: applied deltas kept in segments (append blobs of frames); docs/delta-format.md, "Journal segments". */
export {
  FRAME_HEADER_BYTES,
  MAX_FRAME_DELTA_BYTES,
  decodeFrameHeader,
  encodeFrame,
  encodeFrameHeader,
  type FrameHeader,
} from './frame';
export { JournalReader, type JournalReaderOptions } from './journalReader';
export { type JournalAppender, type JournalDeltaRef, JournalWriter } from './journalWriter';
export { journalBlobs, journaledDeltas, type JournaledDelta } from './scan';
export {
  journalBlobRange,
  parseJournalBlobName,
  parseSegmentBlobName,
  SEGMENT_DELTAS,
  segmentBlobName,
  segmentStart,
  type JournalBlob,
  type JournalVm,
  type SegmentName,
} from './segments';
