/**
 * The job model (DESIGN §1, §6). A job is one run of an orchestration; its id is the Durable instance
 * id. While it runs, the orchestration keeps a JobCustomStatus as its Durable custom status, and the
 * jobs API turns the instance's status into a Job (mapJob.ts).
 */

export const STEP_STATES = ['NotStarted', 'InProgress', 'Succeeded', 'Failed', 'Skipped'] as const;
export type StepState = (typeof STEP_STATES)[number];

export const JOB_STATES = ['InProgress', 'Succeeded', 'Failed', 'Cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** The kinds of job, as Site Recovery names its jobs; the value is the orchestration's name. */
export const JOB_KINDS = {
  EnableReplication: 'enableReplication',
  Failover: 'failover',
  TestFailover: 'testFailover',
  TestFailoverCleanup: 'testFailoverCleanup',
  CommitFailover: 'commitFailover',
  Reprotect: 'reprotect',
  DisableReplication: 'disableReplication',
} as const;
export type JobKind = keyof typeof JOB_KINDS;

export interface JobVm {
  resourceGroup: string;
  name: string;
}

export interface JobStep {
  name: string;
  state: StepState;
  /** ISO times, from the orchestration's replay-safe clock. */
  startedAt?: string;
  endedAt?: string;
  /** 0–100, for steps that report it. */
  progress?: number;
  /** Why the step failed, in words a user can act on. */
  error?: string;
  /** Something that went wrong without failing the step (e.g. the source VM could not be shut down). */
  warning?: string;
}

/** What an orchestration keeps in its Durable custom status. */
export interface JobCustomStatus {
  kind: JobKind;
  vm: JobVm;
  steps: JobStep[];
  result?: unknown;
  /** Set when the job failed: the failed step's message. */
  error?: string;
}

/** A job as the API shows it. */
export interface Job {
  id: string;
  kind: JobKind | null;
  vm: JobVm | null;
  state: JobState;
  steps: JobStep[];
  error: string | null;
  result: unknown;
  startedAt: string | null;
  endedAt: string | null;
}
