import { TidemarkError } from '../errors';
import { parseDecimal } from './blobName';
import { isU64 } from './bytes';
import type { Delta } from './types';

/** What a delta blob's metadata tells without reading the blob. */
export type DeltaBlobMetadata = Pick<
  Delta,
  'generation' | 'sequence' | 'firstWriteTime' | 'lastWriteTime' | 'appConsistent' | 'heartbeat'
>;

const NUMBERS = ['generation', 'sequence', 'firstWriteTime', 'lastWriteTime'] as const;
const BOOLEANS = ['appConsistent', 'heartbeat'] as const;

function invalid(message: string, details: Record<string, unknown>): TidemarkError {
  return new TidemarkError('InvalidArgument', message, { details });
}

/** Blob metadata (lower-case keys, string values) for a delta; pass the Delta or its header. */
export function deltaBlobMetadata(delta: DeltaBlobMetadata): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const key of NUMBERS) {
    if (!isU64(delta[key])) throw invalid(`delta ${key} is not a u64`, { field: key, value: delta[key] });
    metadata[key.toLowerCase()] = String(delta[key]);
  }
  for (const key of BOOLEANS) metadata[key.toLowerCase()] = String(delta[key] === true);
  return metadata;
}

/** Reads deltaBlobMetadata's keys back (in any case); a missing or bad value is InvalidArgument. */
export function parseDeltaBlobMetadata(metadata: Record<string, string | undefined>): DeltaBlobMetadata {
  const lower = new Map(Object.entries(metadata).map(([key, value]) => [key.toLowerCase(), value]));
  const text = (key: string): string => {
    const value = lower.get(key.toLowerCase());
    if (value === undefined) throw invalid(`delta blob metadata has no ${key.toLowerCase()}`, { key });
    return value;
  };
  const number = (key: (typeof NUMBERS)[number]): number => {
    const value = parseDecimal(text(key));
    if (value === undefined) {
      throw invalid(`delta blob metadata ${key.toLowerCase()} ${JSON.stringify(text(key))} is not a u64`, {
        key,
      });
    }
    return value;
  };
  const boolean = (key: (typeof BOOLEANS)[number]): boolean => {
    const value = text(key);
    if (value !== 'true' && value !== 'false') {
      throw invalid(
        `delta blob metadata ${key.toLowerCase()} ${JSON.stringify(value)} is not true or false`,
        { key },
      );
    }
    return value === 'true';
  };
  return {
    generation: number('generation'),
    sequence: number('sequence'),
    firstWriteTime: number('firstWriteTime'),
    lastWriteTime: number('lastWriteTime'),
    appConsistent: boolean('appConsistent'),
    heartbeat: boolean('heartbeat'),
  };
}
