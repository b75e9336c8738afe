/**
 * Durable instance status → API job. Pure: it reads only what it is given, so the jobs API and its
 * tests agree on what a job looks like in every runtime status.
 */
import { JOB_KINDS, type Job, type JobCustomStatus, type JobKind, type JobState, type JobVm } from './types';

/** The parts of a DurableOrchestrationStatus the mapper reads. */
export interface DurableStatusLike {
  instanceId: string;
  name?: string;
  runtimeStatus: string;
  customStatus?: unknown;
  output?: unknown;
  input?: unknown;
  createdTime?: Date | string | null;
  lastUpdatedTime?: Date | string | null;
}

const STATES: Record<string, JobState> = {
  Pending: 'InProgress',
  Running: 'InProgress',
  ContinuedAsNew: 'InProgress',
  Suspended: 'InProgress',
  Completed: 'Succeeded',
  Failed: 'Failed',
  Terminated: 'Cancelled',
  Canceled: 'Cancelled',
};

/** The job kind of an orchestration name; undefined for an orchestration that is not a job. */
export function jobKindOf(orchestrationName: string | undefined): JobKind | undefined {
  const entry = Object.entries(JOB_KINDS).find(([, name]) => name === orchestrationName);
  return entry?.[0] as JobKind | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseMaybeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function asCustomStatus(value: unknown): JobCustomStatus | undefined {
  const v = parseMaybeJson(value);
  return isRecord(v) && Array.isArray(v.steps) && isRecord(v.vm)
    ? (v as unknown as JobCustomStatus)
    : undefined;
}

function vmFromInput(input: unknown): JobVm | null {
  const v = parseMaybeJson(input);
  if (isRecord(v) && typeof v.resourceGroup === 'string' && typeof v.vm === 'string')
    return { resourceGroup: v.resourceGroup, name: v.vm };
  return null;
}

function iso(time: Date | string | null | undefined): string | null {
  if (time === undefined || time === null) return null;
  const date = typeof time === 'string' ? new Date(time) : time;
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The message of a failed orchestration's output, without the SDK's wrapping. */
function failureText(output: unknown): string {
  const text = typeof output === 'string' ? output : JSON.stringify(output ?? 'The job failed.');
  const firstLine = text.split(' \n ')[0] ?? text;
  return firstLine.replace(/^Orchestrator function '[^']*' failed: /, '');
}

export function mapJob(status: DurableStatusLike): Job {
  const custom = asCustomStatus(status.customStatus);
  const state = STATES[status.runtimeStatus] ?? 'InProgress';
  const done = state !== 'InProgress';
  let error: string | null = null;
  if (state === 'Failed') error = custom?.error ?? failureText(parseMaybeJson(status.output));
  if (state === 'Cancelled') error = custom?.error ?? 'The job was cancelled.';
  const result = state === 'Succeeded' ? (parseMaybeJson(status.output) ?? custom?.result ?? null) : null;
  return {
    id: status.instanceId,
    kind: custom?.kind ?? jobKindOf(status.name) ?? null,
    vm: custom?.vm ?? vmFromInput(status.input),
    state,
    steps: custom?.steps ?? [],
    error,
    result,
    startedAt: iso(status.createdTime),
    endedAt: done ? iso(status.lastUpdatedTime) : null,
  };
}
