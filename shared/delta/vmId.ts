import { MAX_VM_ID_BYTES } from './constants';

// Control characters, unpaired surrogates (Cs matches lone halves only under `u`), slash, backslash.
const FORBIDDEN = /[\p{Cc}\p{Cs}\\/]/u;

/** Why `segment` cannot be a resource group or VM name in a VM id or blob name, or undefined. */
export function nameSegmentProblem(segment: string): string | undefined {
  if (segment.length === 0) return 'is empty';
  if (segment === '.' || segment === '..') return `is "${segment}"`;
  if (FORBIDDEN.test(segment)) return 'contains a slash, backslash, control character or lone surrogate';
  return undefined;
}

/** Why `vmId` is not a valid `{resourceGroup}/{vm}` of at most 256 UTF-8 bytes, or undefined. */
export function vmIdProblem(vmId: string): string | undefined {
  const bytes = Buffer.byteLength(vmId, 'utf8');
  if (bytes > MAX_VM_ID_BYTES) return `is ${bytes} UTF-8 bytes, more than ${MAX_VM_ID_BYTES}`;
  const parts = vmId.split('/');
  if (parts.length !== 2) return 'is not of the form {resourceGroup}/{vm}';
  for (const [name, part] of [
    ['resource group', parts[0]],
    ['VM name', parts[1]],
  ] as const) {
    const problem = nameSegmentProblem(part);
    if (problem) return `has a ${name} that ${problem}`;
  }
  return undefined;
}
