/**
 * The CLI's flags and arguments, parsed and checked before any request: `rg/vm` by Azure's naming
 * rules, recovery points by shared/recoveryPoints/choice.ts, disks, policy numbers and the VM body by
 * the API's own zod schemas. A bad one is a usage error (exit 1) that says what is wrong and the fix.
 */
import { z } from 'zod';

import { nameMessage } from '../shared/fabric/names';
import { putVmBodySchema } from '../shared/fabric/vmRequest';
import { parseChoiceText, type RecoveryPointChoice } from '../shared/recoveryPoints/choice';
import { policySchema } from '../shared/recoveryPoints/policy';
import { type FieldError, usageError } from './errors';

export interface VmRef {
  resourceGroup: string;
  name: string;
}

export interface DiskArg {
  name: string;
  sizeGiB: number;
}

export function formatVmRef(vm: VmRef): string {
  return `${vm.resourceGroup}/${vm.name}`;
}

/** `RESOURCE_GROUP/NAME`, each part by Azure's naming rules. */
export function parseVmRef(text: string): VmRef {
  const fix = 'Name the VM as RESOURCE_GROUP/NAME, e.g. shop-rg/web1 (`tidemark vm list` lists them).';
  const parts = text.split('/');
  if (parts.length !== 2) {
    throw usageError(`"${text}" is not a VM: it must be RESOURCE_GROUP/NAME.`, fix);
  }
  const [resourceGroup, name] = parts as [string, string];
  const problem = nameMessage('resourceGroup', resourceGroup) ?? nameMessage('virtualMachine', name);
  if (problem) throw usageError(`"${text}" is not a VM: ${problem}`, fix);
  return { resourceGroup, name };
}

const CHOICE_FIX =
  'Use latest, latestProcessed, latestAppConsistent, a recovery point id such as rp-1-42 ' +
  '(`tidemark recovery-point list RG/VM` lists them) or an ISO-8601 time with a zone, e.g. 2026-11-26T06:30:00Z.';

/** --recovery-point: a named choice, a point id (`rp-G-S`) or a source time (ISO-8601 with a zone). */
export function parseRecoveryPoint(text: string): RecoveryPointChoice {
  const choice = parseChoiceText(text);
  if (choice === undefined)
    throw usageError(`--recovery-point "${text}" is not a recovery point.`, CHOICE_FIX);
  return choice;
}

/** --disk NAME:SIZE_GIB, repeatable, in order (the first is the OS disk). */
export function parseDisk(text: string, previous: DiskArg[] = []): DiskArg[] {
  const fix =
    'Give each disk as --disk NAME:SIZE_GIB, e.g. --disk os:0.25 --disk data:0.125 (the first is the OS disk).';
  const match = /^([^:]+):([^:]+)$/.exec(text);
  if (!match) throw usageError(`--disk "${text}" is not NAME:SIZE_GIB.`, fix);
  const [, name, size] = match as unknown as [string, string, string];
  const sizeGiB = Number(size);
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(size) || !Number.isFinite(sizeGiB) || sizeGiB <= 0) {
    throw usageError(`--disk "${text}" has a size "${size}" that is not a number of GiB above 0.`, fix);
  }
  const problem = nameMessage('disk', name);
  if (problem) throw usageError(`--disk "${text}": ${problem}`, fix);
  return [...previous, { name, sizeGiB }];
}

function policyNumber(
  flag: string,
  schema: z.ZodType<number>,
  words: string,
  example: string,
): (text: string) => number {
  return (text) => {
    const value = Number(text);
    const parsed = /^-?\d+$/.test(text.trim()) ? schema.safeParse(value) : undefined;
    if (!parsed?.success) {
      throw usageError(
        `${flag} "${text}" is not valid: it must be ${words}.`,
        `Pass e.g. ${flag} ${example}.`,
      );
    }
    return parsed.data;
  };
}

/** --retention-hours: a whole number of hours, 0 to 360 (the API's policy schema). */
export const parseRetentionHours = policyNumber(
  '--retention-hours',
  policySchema.shape.retentionHours.unwrap(),
  'a whole number of hours from 0 (only the latest point) to 360 (15 days)',
  '24',
);

/** --app-consistent-minutes: 0 (off) or 60 to 720. */
export const parseAppConsistentMinutes = policyNumber(
  '--app-consistent-minutes',
  policySchema.shape.appConsistentFrequencyMinutes.unwrap(),
  'a whole number of minutes: 0 (off) or 60 to 720',
  '60',
);

/** --url: an http(s) URL. */
export function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`--url "${text}" is not a URL.`, 'Pass the host as e.g. --url http://127.0.0.1:7071.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(
      `--url "${text}" is not an http(s) URL.`,
      'Pass the host as e.g. --url http://127.0.0.1:7071.',
    );
  }
  return text;
}

/** A name flag (--vnet, --target-resource-group, ...) by its Azure naming rule. */
export function nameParser(
  flag: string,
  kind: Parameters<typeof nameMessage>[0],
  example: string,
): (text: string) => string {
  return (text) => {
    const problem = nameMessage(kind, text);
    if (problem) throw usageError(`${flag}: ${problem}`, `Pass e.g. ${flag} ${example}.`);
    return text;
  };
}

/** --network of a test failover: a VNet in the target region, by name. */
export const parseNetwork = nameParser('--network', 'virtualNetwork', 'test-vnet');

const FLAG_OF: Record<string, string> = {
  region: '--region',
  vnet: '--vnet',
  subnet: '--subnet',
  size: '--size',
  availabilitySet: '--availability-set',
  disks: '--disk',
  powerState: '--stopped',
};

/** A zod issue path as the flag it came from: `disks.1.sizeGiB` → `--disk data:0.1 (sizeGiB)`. */
function flagOf(path: PropertyKey[], body: { disks?: DiskArg[] }): string {
  const [head, index, field] = path;
  const flag = FLAG_OF[String(head)] ?? String(head ?? '');
  if (head === 'disks' && typeof index === 'number') {
    const disk = body.disks?.[index];
    const text = disk ? `${flag} ${disk.name}:${disk.sizeGiB}` : `${flag} #${index + 1}`;
    return field === undefined ? text : `${text} (${String(field)})`;
  }
  return flag;
}

/** Field errors of a failed zod parse, named by flag. */
export function fieldErrorsOf(error: z.ZodError, body: { disks?: DiskArg[] }): FieldError[] {
  return error.issues.map((issue) => ({ path: flagOf(issue.path, body), message: issue.message }));
}

export interface VmBody {
  region: string;
  vnet: string;
  subnet: string;
  size: string;
  availabilitySet?: string;
  disks: DiskArg[];
  powerState?: 'Running' | 'Stopped' | 'Deallocated';
}

const VM_SIZE = /^(Standard|Basic)_[A-Za-z0-9_]{1,55}$/;

/** The PUT body of `vm create`, checked with the API's schema (every problem listed by flag). */
export function checkVmBody(body: VmBody): VmBody {
  const parsed = putVmBodySchema.safeParse(body);
  const fields = parsed.success ? [] : fieldErrorsOf(parsed.error, body);
  if (!VM_SIZE.test(body.size)) {
    fields.push({
      path: '--size',
      message: `"${body.size}" is not an Azure VM size such as Standard_B2s or Standard_D4s_v5`,
    });
  }
  if (fields.length > 0) {
    throw usageError(
      `The VM is not valid: ${fields.length === 1 ? 'one flag is' : `${fields.length} flags are`} wrong.`,
      'Correct the flags below and run the command again (`tidemark vm create --help` lists them).',
      fields,
    );
  }
  return body;
}
