/**
 * Human output: aligned tables for lists, `key: value` blocks for one thing, readable local dates and
 * durations. Pure functions of the API's JSON (and `now` where an age is shown), so tests pin them.
 * Fields the API adds later still show, as `key: value` of their JSON, rather than vanish.
 */
import type { VmDetail, VmSummary } from '../shared/fabric/vmViews';
import type { Job, JobStep } from '../shared/jobs/types';

/** A recovery point as GET …/recovery-points lists it. */
export interface RecoveryPointRow {
  id: string;
  time: string | number;
  cutAt?: string | number;
  type: string;
  sequence: number;
  generation: number;
}

const DASH = '-';

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function toDate(value: string | number | null | undefined): Date | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** `2026-11-26 06:30:01` in local time; `-` for none. */
export function formatTime(value: string | number | null | undefined): string {
  const d = toDate(value);
  if (!d) return DASH;
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

/** `06:30:01` in local time; `-` for none. */
export function formatClock(value: string | number | null | undefined): string {
  const d = toDate(value);
  return d ? `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}` : DASH;
}

/** `0.4s`, `12s`, `3m 05s`, `1h 02m`, `2d 03h`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${pad2(m % 60)}m`;
  return `${Math.floor(h / 24)}d ${pad2(h % 24)}h`;
}

/** Between two times; `-` when either is missing. */
export function formatSpan(
  start: string | number | null | undefined,
  end: string | number | null | undefined,
): string {
  const a = toDate(start);
  const b = toDate(end);
  return a && b ? formatDuration(b.getTime() - a.getTime()) : DASH;
}

/** `2026-11-26 06:30:01 (3m 05s ago)`. */
export function formatTimeAgo(value: string | number | null | undefined, now: number): string {
  const d = toDate(value);
  if (!d) return DASH;
  const age = now - d.getTime();
  return age >= 0 ? `${formatTime(value)} (${formatDuration(age)} ago)` : formatTime(value);
}

/** `256 MiB`, `1.5 GiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[unit]}`;
}

export function formatSeconds(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? DASH : formatDuration(seconds * 1000);
}

/** Any JSON value in one line: strings as they are, the rest as compact JSON. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return DASH;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Columns aligned two spaces apart under upper-case headers; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  return all
    .map((r) =>
      r
        .map((cell, i) =>
          i === r.length - 1 ? cell : cell.padEnd(widths[i]! + (cell.length - [...cell].length)),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `Key:  value` lines with the values aligned; a multi-line value continues under its first line. */
export function keyValues(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs
    .map(([k, v]) => {
      const [first, ...rest] = v.split('\n');
      const lines = [`${`${k}:`.padEnd(width)}  ${first ?? ''}`.trimEnd()];
      for (const line of rest) lines.push(`${' '.repeat(width + 2)}${line}`.trimEnd());
      return lines.join('\n');
    })
    .join('\n');
}

/** `camelCase` → `Camel case`, for fields the CLI does not know by name. */
export function labelOf(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** `key: value` pairs of the fields of `record` not in `known`. */
function extras(record: object, known: readonly string[]): [string, string][] {
  return Object.entries(record)
    .filter(([k]) => !known.includes(k))
    .map(([k, v]) => [labelOf(k), formatValue(v)]);
}

// ---- VMs ----

type Protection = NonNullable<VmSummary['protection']>;

function protectionCells(p: Protection | null | undefined): string[] {
  if (!p) return ['Not protected', DASH, DASH];
  return [p.state, p.health ?? DASH, formatSeconds(p.rpoSeconds)];
}

export function vmListTable(vms: VmSummary[]): string {
  if (vms.length === 0) return 'No VMs. Create one with `tidemark vm create`.';
  return table(
    ['Resource group', 'Name', 'Region', 'Size', 'Power', 'Disks', 'Replication', 'Health', 'RPO', 'NBD'],
    vms.map((vm) => [
      vm.resourceGroup,
      vm.name,
      vm.region,
      vm.size,
      vm.powerState,
      String(vm.disks),
      ...protectionCells(vm.protection),
      vm.nbd ? `${vm.nbd.host}:${vm.nbd.port}` : DASH,
    ]),
  );
}

const VM_KNOWN = [
  'resourceGroup',
  'name',
  'region',
  'size',
  'powerState',
  'availabilitySet',
  'tags',
  'nics',
  'disks',
  'nbd',
  'protectedItem',
] as const;

export function vmDetail(vm: VmDetail, now: number): string {
  const pairs: [string, string][] = [
    ['VM', `${vm.resourceGroup}/${vm.name}`],
    ['Region', vm.region],
    ['Size', vm.size],
    ['Power state', vm.powerState],
    ['Availability set', vm.availabilitySet ?? DASH],
  ];
  const tags = Object.entries(vm.tags ?? {});
  if (tags.length > 0) pairs.push(['Tags', tags.map(([k, v]) => `${k}=${v}`).join(', ')]);
  pairs.push([
    'NICs',
    (vm.nics ?? [])
      .map(
        (n) =>
          `${n.name}  ${n.privateIp}  ${n.vnet}/${n.subnet}${n.addressPrefix ? ` (${n.addressPrefix})` : ''}`,
      )
      .join('\n') || DASH,
  ]);
  pairs.push([
    'Disks',
    (vm.disks ?? []).map((d) => `${d.name}  lun ${d.lun}  ${formatBytes(d.sizeBytes)}`).join('\n') || DASH,
  ]);
  pairs.push([
    'NBD',
    vm.nbd ? Object.values(vm.nbd.uris ?? {}).join('\n') || `${vm.nbd.host}:${vm.nbd.port}` : DASH,
  ]);
  const item = vm.protectedItem;
  pairs.push([
    'Replication',
    item
      ? `${item.state}, ${item.health}${item.rpoSeconds !== null && item.rpoSeconds !== undefined ? `, RPO ${formatSeconds(item.rpoSeconds)}` : ''}`
      : 'Not protected',
  ]);
  if (item?.lastRecoveryPointAt)
    pairs.push(['Last recovery point', formatTimeAgo(item.lastRecoveryPointAt, now)]);
  pairs.push(...extras(vm, VM_KNOWN));
  return keyValues(pairs);
}

// ---- replication ----

const ITEM_KNOWN = [
  'state',
  'health',
  'healthReasons',
  'rpoSeconds',
  'generation',
  'watermark',
  'watermarkTime',
  'lastAppliedAt',
  'lastRecoveryPointAt',
  'lastAppConsistentSequence',
  'resyncReason',
  'policy',
  'stats',
  'disks',
  'target',
  'initialReplicationProgress',
  'direction',
  'activeJob',
  'failover',
  'testFailover',
] as const;

/** The protected item as GET /api/vms/{rg}/{vm} shows it, with what later versions add. */
type ItemView = NonNullable<VmDetail['protectedItem']> & {
  target?: unknown;
  initialReplicationProgress?: number;
  direction?: string;
  activeJob?: { id: string; kind: string };
  failover?: unknown;
  testFailover?: unknown;
};

interface RefLike {
  region?: string;
  resourceGroup?: string;
  name?: string;
}

function refText(ref: RefLike | undefined): string {
  if (!ref) return DASH;
  return `${ref.resourceGroup}/${ref.name}${ref.region ? ` (${ref.region})` : ''}`;
}

/** The last failover: `VM shop-rg-asr/web1 (westus) from rp-1-7 (2026-…), asked latest; at …`. */
function failoverText(value: unknown): string {
  if (!value || typeof value !== 'object') return formatValue(value);
  const f = value as {
    recoveryPointId?: string;
    time?: string;
    choice?: string;
    targetVm?: RefLike;
    at?: string;
    note?: string | null;
  };
  if (!f.targetVm) return formatValue(value);
  let text = `VM ${refText(f.targetVm)} from ${f.recoveryPointId ?? '?'}`;
  if (f.time) text += ` (${formatTime(f.time)})`;
  if (f.choice) text += `, asked ${f.choice}`;
  if (f.at) text += `; started ${formatTime(f.at)}`;
  if (f.note) text += `\n${f.note}`;
  return text;
}

function testFailoverText(value: unknown): string {
  if (!value || typeof value !== 'object') return formatValue(value);
  const t = value as { testVm?: RefLike; network?: RefLike; recoveryPointId?: string };
  if (!t.testVm) return formatValue(value);
  return `test VM ${refText(t.testVm)} in VNet ${refText(t.network)} from ${t.recoveryPointId ?? '?'}`;
}

function targetText(target: unknown): string {
  if (!target || typeof target !== 'object') return formatValue(target);
  const t = target as {
    region?: string;
    resourceGroup?: string;
    vnet?: { resourceGroup?: string; name?: string } | string;
    availabilitySet?: string;
  };
  const parts: string[] = [];
  if (t.region) parts.push(`region ${t.region}`);
  if (t.resourceGroup) parts.push(`resource group ${t.resourceGroup}`);
  if (t.vnet)
    parts.push(`VNet ${typeof t.vnet === 'string' ? t.vnet : `${t.vnet.resourceGroup}/${t.vnet.name}`}`);
  if (t.availabilitySet) parts.push(`availability set ${t.availabilitySet}`);
  return parts.length > 0 ? parts.join(', ') : formatValue(target);
}

export function protectionDetail(vm: string, item: ItemView, now: number): string {
  const pairs: [string, string][] = [
    ['VM', vm],
    ['State', item.state],
    ['Health', item.health + (item.healthReasons?.length ? ` (${item.healthReasons.join('; ')})` : '')],
    ['RPO', formatSeconds(item.rpoSeconds)],
  ];
  if (typeof item.initialReplicationProgress === 'number') {
    pairs.push(['Initial replication', `${item.initialReplicationProgress}%`]);
  }
  if (item.resyncReason) pairs.push(['Resync reason', item.resyncReason]);
  if (item.activeJob) pairs.push(['Job', `${item.activeJob.kind} ${item.activeJob.id}`]);
  if (item.direction) pairs.push(['Direction', item.direction]);
  if (item.target !== undefined) pairs.push(['Target', targetText(item.target)]);
  if (item.failover) pairs.push(['Failover', failoverText(item.failover)]);
  if (item.testFailover) pairs.push(['Test failover', testFailoverText(item.testFailover)]);
  pairs.push(
    ['Generation', String(item.generation)],
    ['Watermark', `${item.watermark}${item.watermarkTime ? ` (${formatTime(item.watermarkTime)})` : ''}`],
    ['Last applied', formatTimeAgo(item.lastAppliedAt, now)],
    ['Last recovery point', formatTimeAgo(item.lastRecoveryPointAt, now)],
  );
  if (item.lastAppConsistentSequence !== null && item.lastAppConsistentSequence !== undefined) {
    pairs.push(['Last app-consistent', `sequence ${item.lastAppConsistentSequence}`]);
  }
  const policy = item.policy ?? {};
  pairs.push([
    'Policy',
    `retention ${policy.retentionHours ?? 24} h, app-consistent ${
      policy.appConsistentFrequencyMinutes ? `every ${policy.appConsistentFrequencyMinutes} min` : 'off'
    }`,
  ]);
  if (item.stats) {
    const s = item.stats;
    const parts = [`${s.deltasApplied} deltas`, `${formatBytes(s.bytesApplied)} applied`];
    if (s.lagMs !== undefined) parts.push(`lag ${formatDuration(s.lagMs)}`);
    if (s.churnBytesPerSecond !== undefined) parts.push(`churn ${formatBytes(s.churnBytesPerSecond)}/s`);
    pairs.push(['Replication', parts.join(', ')]);
  }
  pairs.push([
    'Disks',
    (item.disks ?? []).map((d) => `${d.name}  lun ${d.lun}  ${formatBytes(d.sizeBytes)}`).join('\n') || DASH,
  ]);
  pairs.push(...extras(item, ITEM_KNOWN));
  return keyValues(pairs);
}

export function replicationListTable(vms: VmSummary[]): string {
  const protectedVms = vms.filter((vm) => vm.protection);
  if (protectedVms.length === 0)
    return 'No protected VMs. Enable replication with `tidemark replication enable RG/VM`.';
  return table(
    ['Resource group', 'Name', 'Region', 'State', 'Health', 'RPO'],
    protectedVms.map((vm) => [vm.resourceGroup, vm.name, vm.region, ...protectionCells(vm.protection)]),
  );
}

// ---- recovery points ----

export function recoveryPointTable(points: RecoveryPointRow[]): string {
  if (points.length === 0) return 'No recovery points yet.';
  return table(
    ['Id', 'Type', 'Time', 'Cut at', 'Generation', 'Sequence'],
    points.map((p) => [
      p.id,
      p.type,
      formatTime(p.time),
      formatTime(p.cutAt),
      String(p.generation),
      String(p.sequence),
    ]),
  );
}

// ---- jobs ----

function vmText(vm: Job['vm']): string {
  return vm ? `${vm.resourceGroup}/${vm.name}` : DASH;
}

export function jobListTable(jobs: Job[]): string {
  if (jobs.length === 0) return 'No jobs.';
  return table(
    ['Id', 'Kind', 'VM', 'State', 'Started', 'Duration'],
    jobs.map((j) => [
      j.id,
      j.kind ?? DASH,
      vmText(j.vm),
      j.state,
      formatTime(j.startedAt),
      j.endedAt ? formatSpan(j.startedAt, j.endedAt) : j.state === 'InProgress' ? 'running' : DASH,
    ]),
  );
}

/** What a step says beyond its state: progress, error, warning. */
export function stepNote(step: JobStep): string {
  const notes: string[] = [];
  if (typeof step.progress === 'number' && step.state === 'InProgress') notes.push(`${step.progress}%`);
  if (step.error) notes.push(step.error);
  if (step.warning) notes.push(`warning: ${step.warning}`);
  return notes.join('  ');
}

export function stepTable(steps: JobStep[]): string {
  if (steps.length === 0) return 'No steps yet.';
  return table(
    ['Step', 'State', 'Started', 'Ended', 'Duration', ''],
    steps.map((s) => [
      s.name,
      s.state,
      formatClock(s.startedAt),
      formatClock(s.endedAt),
      formatSpan(s.startedAt, s.endedAt),
      stepNote(s),
    ]),
  );
}

/** The one-line heading of a job: `Job enable-shop-rg-web1: EnableReplication of shop-rg/web1`. */
export function jobHeading(job: Pick<Job, 'id' | 'kind' | 'vm'>): string {
  return `Job ${job.id}: ${job.kind ?? 'job'}${job.vm ? ` of ${vmText(job.vm)}` : ''}`;
}

/** `Succeeded in 34s` / `Failed after 12s: <error>`. */
export function jobOutcome(job: Job): string {
  const span = formatSpan(job.startedAt, job.endedAt);
  if (job.state === 'Succeeded') return `${job.state}${span === DASH ? '' : ` in ${span}`}`;
  if (job.state === 'InProgress') return 'InProgress';
  return `${job.state}${span === DASH ? '' : ` after ${span}`}${job.error ? `: ${job.error}` : ''}`;
}

const JOB_KNOWN = ['id', 'kind', 'vm', 'state', 'steps', 'error', 'result', 'startedAt', 'endedAt'] as const;

export function jobDetail(job: Job): string {
  const pairs: [string, string][] = [
    ['Job', job.id],
    ['Kind', job.kind ?? DASH],
    ['VM', vmText(job.vm)],
    ['State', job.state],
    ['Started', formatTime(job.startedAt)],
    ['Ended', formatTime(job.endedAt)],
    ['Duration', formatSpan(job.startedAt, job.endedAt)],
  ];
  if (job.error) pairs.push(['Error', job.error]);
  if (job.result !== null && job.result !== undefined) {
    if (typeof job.result === 'object' && !Array.isArray(job.result)) {
      const entries = Object.entries(job.result as Record<string, unknown>);
      pairs.push(['Result', entries.map(([k, v]) => `${k}: ${formatValue(v)}`).join('\n') || DASH]);
    } else {
      pairs.push(['Result', formatValue(job.result)]);
    }
  }
  pairs.push(...extras(job, JOB_KNOWN));
  return `${keyValues(pairs)}\n\n${stepTable(job.steps ?? [])}`;
}

/** What a start command prints without --wait. */
export function jobStarted(job: Job): string {
  return `${jobHeading(job)} started.\nFollow it with: tidemark job watch ${job.id}`;
}
