/** One disk write, in write order: data to write, or a range to zero. */
export type DeltaEntry = DeltaDataEntry | DeltaZeroEntry;

/** Bytes written. `offset` and `data.length` are multiples of 512; `data` is 512 B to 4 MiB. */
export interface DeltaDataEntry {
  /** Index of the VM's disk (LUN order), 0-65535. */
  disk: number;
  /** Byte offset on the disk. */
  offset: number;
  data: Buffer;
}

/**
 * A range that reads as zeros from now on (NBD TRIM / WRITE_ZEROES; the applier issues Clear
 * Pages). It carries no data: `zeroLength` is a multiple of 512 from 512 B to 1 GiB.
 */
export interface DeltaZeroEntry {
  /** Index of the VM's disk (LUN order), 0-65535. */
  disk: number;
  /** Byte offset on the disk. */
  offset: number;
  zeroLength: number;
}

/**
 * One blob of writes from one VM. u64 fields (generation, sequence, times, offsets) are numbers and
 * must be safe integers (<= 2^53 - 1); the decoder rejects larger values.
 */
export interface Delta {
  /** `{resourceGroup}/{vm}`. */
  vmId: string;
  /** Replication generation handed to the agent at enable; a new one starts after a resync. */
  generation: number;
  sequence: number;
  /** Milliseconds since the epoch. A heartbeat carries its time in both. */
  firstWriteTime: number;
  lastWriteTime: number;
  /** The agent took an application-consistent bookmark right after these writes. */
  appConsistent: boolean;
  /** An idle agent's proof of life: no entries, only the time. */
  heartbeat: boolean;
  /**
   * The agent may have lost writes it had acknowledged before this delta (it restarted after an
   * unclean stop, with journaled writes unshipped): replaying on from here cannot make the replica
   * consistent, so the applier applies nothing from here and marks the item ResyncRequired. Set on
   * the first delta the agent writes after such a start; absent (false) otherwise.
   */
  resyncRequired?: boolean;
  entries: DeltaEntry[];
}

export type DeltaCompression = 'none';

/** What the header of a delta blob says, checked but not yet matched against the entries. */
export interface DeltaHeader extends Omit<Delta, 'entries'> {
  version: number;
  compression: DeltaCompression;
  entryCount: number;
  /** Bytes from the start of the blob to the first entry. */
  headerLength: number;
  /** Bytes of all entries, their headers included. */
  payloadLength: number;
  /** The length the blob must have: header, payload and trailer. */
  blobLength: number;
}

/** What the caller knows the delta must be; a mismatch is an error. */
export interface DeltaExpectation {
  vmId?: string;
  generation?: number;
  sequence?: number;
}

export interface DecodeDeltaOptions extends DeltaExpectation {
  /** Largest blob accepted, in bytes. */
  maxBytes?: number;
}

export interface DecodeDeltaStreamOptions {
  /** The blob's length as storage reports it; nothing is allocated past it. */
  blobLength: number;
  expect?: DeltaExpectation;
  maxBytes?: number;
}

export interface EncodeDeltaOptions {
  /** Largest blob the caller wants; a bigger delta is an InvalidArgument. */
  maxBytes?: number;
}

export type DeltaStreamItem =
  { type: 'header'; header: DeltaHeader } | { type: 'entry'; index: number; entry: DeltaEntry };
