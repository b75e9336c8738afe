/**
 * The agent's durable record of delta sequence numbers, one small file per VM. A number is
 * reserved (written to disk) before its delta is uploaded and confirmed after, so numbers are never
 * reused after a crash; numbers reserved but never confirmed are filled with heartbeat deltas on
 * restart, so none is skipped either. `clean` tells whether the last run stopped cleanly: if not,
 * writes that were acknowledged but not yet shipped may be lost and the VM needs a resync.
 */
import fs from 'node:fs';
import path from 'node:path';

import { TidemarkError } from '../shared/errors';

export interface SequenceState {
  vmId: string;
  generation: number;
  /** The next number to hand out. */
  nextSequence: number;
  /** Every number up to this one is known to be in the cache (or already applied). */
  confirmedThrough: number;
  /** False while the agent runs; true after a clean stop. */
  clean: boolean;
}

export interface SequenceStore {
  load(
    vmId: string,
    generation: number,
  ): Promise<{ state: SequenceState; previousRunClean: boolean | undefined }>;
  save(state: SequenceState): Promise<void>;
}

export class FileSequenceStore implements SequenceStore {
  constructor(private readonly dir: string) {}

  #file(vmId: string): string {
    return path.join(this.dir, `${vmId.replace(/[^A-Za-z0-9._-]/g, '_')}.sequence.json`);
  }

  async load(
    vmId: string,
    generation: number,
  ): Promise<{ state: SequenceState; previousRunClean: boolean | undefined }> {
    const file = this.#file(vmId);
    let stored: SequenceState | undefined;
    try {
      stored = JSON.parse(await fs.promises.readFile(file, 'utf8')) as SequenceState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new TidemarkError('InvalidConfig', `The agent's sequence file ${file} is unreadable.`, {
          cause: err,
          hint: 'Do not edit it by hand. If it is lost, disable and re-enable replication for this VM (a resync).',
        });
      }
    }
    if (!stored || stored.vmId !== vmId || stored.generation !== generation) {
      // A new generation (first enable or after a resync) starts again at 1.
      return {
        state: { vmId, generation, nextSequence: 1, confirmedThrough: 0, clean: false },
        previousRunClean: stored && stored.generation === generation ? stored.clean : undefined,
      };
    }
    return { state: { ...stored, clean: false }, previousRunClean: stored.clean };
  }

  async save(state: SequenceState): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    const file = this.#file(state.vmId);
    const tmp = `${file}.${process.pid}.tmp`;
    const handle = await fs.promises.open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  }
}

/** Keeps state in memory; for tests. */
export class MemorySequenceStore implements SequenceStore {
  readonly saved = new Map<string, SequenceState>();

  async load(
    vmId: string,
    generation: number,
  ): Promise<{ state: SequenceState; previousRunClean: boolean | undefined }> {
    const stored = this.saved.get(vmId);
    if (!stored || stored.generation !== generation) {
      return {
        state: { vmId, generation, nextSequence: 1, confirmedThrough: 0, clean: false },
        previousRunClean: undefined,
      };
    }
    return { state: { ...stored, clean: false }, previousRunClean: stored.clean };
  }

  async save(state: SequenceState): Promise<void> {
    this.saved.set(state.vmId, { ...state });
  }
}
