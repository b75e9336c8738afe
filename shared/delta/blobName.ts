import { TidemarkError } from '../errors';
import { isU64 } from './bytes';
import { vmIdProblem } from './vmId';

export interface DeltaBlobName {
  resourceGroup: string;
  vm: string;
  generation: number;
  sequence: number;
}

export const SEQUENCE_DIGITS = 20;
const NAME = /^([^/]+)\/([^/]+)\/([0-9]+)\/([0-9]{20})\.delta$/;

function invalidName(message: string, details: Record<string, unknown>): TidemarkError {
  return new TidemarkError('InvalidArgument', message, { details });
}

/** A decimal safe integer without leading zeros, as names and metadata hold it; undefined otherwise. */
export function parseDecimal(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]*)$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function checkVm(resourceGroup: string, vm: string): void {
  const problem = vmIdProblem(`${resourceGroup}/${vm}`);
  if (problem) throw invalidName(`delta blob VM ${resourceGroup}/${vm} ${problem}`, { resourceGroup, vm });
}

/** `{resourceGroup}/{vm}/` or, with a generation, `{resourceGroup}/{vm}/{generation}/`: for listing. */
export function deltaBlobPrefix(name: { resourceGroup: string; vm: string; generation?: number }): string {
  checkVm(name.resourceGroup, name.vm);
  if (name.generation === undefined) return `${name.resourceGroup}/${name.vm}/`;
  if (!isU64(name.generation)) {
    throw invalidName('delta generation is not a u64', { generation: name.generation });
  }
  return `${name.resourceGroup}/${name.vm}/${name.generation}/`;
}

/** `{resourceGroup}/{vm}/{generation}/{sequence:020}.delta`: names sort in sequence order. */
export function deltaBlobName(name: DeltaBlobName): string {
  if (!isU64(name.sequence)) throw invalidName('delta sequence is not a u64', { sequence: name.sequence });
  const prefix = deltaBlobPrefix(name);
  return `${prefix}${String(name.sequence).padStart(SEQUENCE_DIGITS, '0')}.delta`;
}

/** The inverse of deltaBlobName; anything else is InvalidArgument. */
export function parseDeltaBlobName(blobName: string): DeltaBlobName {
  const form = '{resourceGroup}/{vm}/{generation}/{seq:020}.delta';
  const notAName = (): TidemarkError =>
    invalidName(`${JSON.stringify(blobName)} is not a delta blob name (${form})`, { blobName });
  const match = NAME.exec(blobName);
  if (!match) throw notAName();
  const [, resourceGroup, vm, generationText, sequenceText] = match;
  const generation = parseDecimal(generationText);
  const sequence = parseDecimal(sequenceText.replace(/^0+(?=.)/, ''));
  if (generation === undefined || sequence === undefined) throw notAName();
  checkVm(resourceGroup, vm);
  return { resourceGroup, vm, generation, sequence };
}
