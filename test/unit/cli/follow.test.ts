/**
 * Following a job: step events between snapshots, the poll loop (transient failures retried), the
 * plain view's lines for logs (progress every 10 %) and the terminal view's cli-progress bar.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { ApiClient, type FetchLike } from '../../../cli/apiClient';
import { CliError } from '../../../cli/errors';
import { followJob, jobFailure, type JobView, stepEvents } from '../../../cli/follow';
import { PlainJobView, TtyJobView } from '../../../cli/jobView';
import { recordingOutput } from '../../../cli/output';
import type { Job, JobStep } from '../../../shared/jobs/types';

beforeAll(() => {
  process.env.TZ = 'UTC';
});

const T0 = Date.parse('2026-11-26T06:30:00Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

function job(steps: JobStep[], state: Job['state'] = 'InProgress', error: string | null = null): Job {
  return {
    id: 'enable-shop-rg-web1',
    kind: 'EnableReplication',
    vm: { resourceGroup: 'shop-rg', name: 'web1' },
    state,
    steps,
    error,
    result: null,
    startedAt: at(0),
    endedAt: state === 'InProgress' ? null : at(30),
  };
}

const prereq = (state: JobStep['state']): JobStep => ({
  name: 'Prerequisites check',
  state,
  ...(state !== 'NotStarted' ? { startedAt: at(0) } : {}),
  ...(state === 'Succeeded' ? { endedAt: at(1) } : {}),
});
const initial = (state: JobStep['state'], progress?: number): JobStep => ({
  name: 'Initial replication',
  state,
  ...(state !== 'NotStarted' ? { startedAt: at(2) } : {}),
  ...(state === 'Succeeded' || state === 'Failed' ? { endedAt: at(20) } : {}),
  ...(progress !== undefined ? { progress } : {}),
  ...(state === 'Failed' ? { error: 'The disk os is gone.' } : {}),
});

/** The jobs a fake API answers, one per poll (the last repeats). */
function jobsApi(snapshots: (Job | Error)[]): { client: ApiClient; polls: () => number } {
  let i = 0;
  const fetch: FetchLike = () => {
    const next = snapshots[Math.min(i++, snapshots.length - 1)]!;
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(new Response(JSON.stringify(next), { status: 200 }));
  };
  return { client: new ApiClient({ url: 'http://h', fetch }), polls: () => i };
}

const noSleep = { sleep: () => Promise.resolve(), intervalMs: 0 };

describe('stepEvents', () => {
  it('tells the states entered and the progress moved, in step order', () => {
    const a = job([prereq('InProgress'), initial('NotStarted')]);
    const b = job([prereq('Succeeded'), initial('InProgress', 10)]);
    expect(stepEvents(undefined, a).map((e) => `${e.kind}:${e.step.name}`)).toEqual([
      'state:Prerequisites check',
    ]);
    expect(
      stepEvents(a, b).map((e) => [e.kind, e.step.name, e.kind === 'progress' ? e.progress : e.step.state]),
    ).toEqual([
      ['state', 'Prerequisites check', 'Succeeded'],
      ['state', 'Initial replication', 'InProgress'],
      ['progress', 'Initial replication', 10],
    ]);
    expect(stepEvents(b, b)).toEqual([]);
  });
});

describe('followJob', () => {
  it('polls until the job ends, giving every snapshot to the view', async () => {
    const seen: string[] = [];
    const view: JobView = {
      update: (j) => void seen.push(`update ${j.state}`),
      end: (j) => void seen.push(`end ${j.state}`),
      abort: () => void seen.push('abort'),
    };
    const { client } = jobsApi([
      job([]),
      job([prereq('InProgress')]),
      job([prereq('Succeeded')], 'Succeeded'),
    ]);
    const final = await followJob(client, 'enable-shop-rg-web1', view, noSleep);
    expect(final.state).toBe('Succeeded');
    expect(seen).toEqual(['update InProgress', 'update InProgress', 'update Succeeded', 'end Succeeded']);
  });

  it('retries an unreachable host a few times, then gives up with exit 2', async () => {
    const down = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    const recovered = jobsApi([down, down, job([], 'Succeeded')]);
    expect((await followJob(recovered.client, 'x', new PlainJobView(recordingOutput()), noSleep)).state).toBe(
      'Succeeded',
    );

    const aborted: string[] = [];
    const gone = jobsApi([down]);
    const error = await followJob(
      gone.client,
      'x',
      { update() {}, end() {}, abort: () => void aborted.push('abort') },
      {
        ...noSleep,
        maxTransientFailures: 3,
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    expect(gone.polls()).toBe(3);
    expect(aborted).toEqual(['abort']);
  });

  it('makes exit 3 of a failed or cancelled job', () => {
    const failed = jobFailure(
      job(
        [prereq('Succeeded'), initial('Failed')],
        'Failed',
        'Initial replication failed: The disk os is gone.',
      ),
    );
    expect(failed.exitCode).toBe(3);
    expect(failed.message).toBe(
      'Job enable-shop-rg-web1 failed: Initial replication failed: The disk os is gone.',
    );
    expect(failed.fix).toMatch(/tidemark job show enable-shop-rg-web1/);
    expect(failed.problem.code).toBe('JobFailed');
    expect(jobFailure(job([], 'Cancelled', 'The job was cancelled.')).problem.code).toBe('JobCancelled');
  });
});

describe('PlainJobView', () => {
  it('prints the heading, a line per step change, progress every 10 %, then the step table and outcome', async () => {
    const out = recordingOutput();
    const { client } = jobsApi([
      job([prereq('InProgress'), initial('NotStarted')]),
      job([prereq('Succeeded'), initial('InProgress', 3)]),
      job([prereq('Succeeded'), initial('InProgress', 7)]),
      job([prereq('Succeeded'), initial('InProgress', 12)]),
      job([prereq('Succeeded'), initial('InProgress', 55)]),
      job([prereq('Succeeded'), initial('Succeeded', 100)], 'Succeeded'),
    ]);
    await followJob(client, 'enable-shop-rg-web1', new PlainJobView(out, () => T0 + 5000), noSleep);
    expect(out.stdout).toEqual([
      'Job enable-shop-rg-web1: EnableReplication of shop-rg/web1',
      '06:30:00  Prerequisites check: InProgress',
      '06:30:01  Prerequisites check: Succeeded (1.0s)',
      '06:30:02  Initial replication: InProgress',
      '06:30:05  Initial replication: 3%',
      '06:30:05  Initial replication: 12%',
      '06:30:05  Initial replication: 55%',
      '06:30:20  Initial replication: Succeeded (18s)',
      '',
      'STEP                 STATE      STARTED   ENDED     DURATION',
      'Prerequisites check  Succeeded  06:30:00  06:30:01  1.0s',
      'Initial replication  Succeeded  06:30:02  06:30:20  18s',
      '',
      'Job enable-shop-rg-web1 Succeeded in 30s',
    ]);
  });

  it('shows a job that already ended as its summary only, with the failed step', async () => {
    const out = recordingOutput();
    const { client } = jobsApi([
      job(
        [prereq('Succeeded'), initial('Failed')],
        'Failed',
        'Initial replication failed: The disk os is gone.',
      ),
    ]);
    await followJob(client, 'x', new PlainJobView(out), noSleep);
    expect(out.stdout[0]).toBe('Job enable-shop-rg-web1: EnableReplication of shop-rg/web1');
    expect(out.stdout[1]).toBe('');
    expect(out.text()).toMatch(
      /Initial replication\s+Failed\s+06:30:02\s+06:30:20\s+18s\s+The disk os is gone\./,
    );
    expect(out.stdout.at(-1)).toBe(
      'Job enable-shop-rg-web1 Failed after 30s: Initial replication failed: The disk os is gone.',
    );
  });
});

describe('TtyJobView', () => {
  it('draws a cli-progress bar for a step with progress, and ends with the same summary', async () => {
    const out = recordingOutput({ tty: true });
    const { client } = jobsApi([
      job([prereq('Succeeded'), initial('InProgress', 40)]),
      job([prereq('Succeeded'), initial('InProgress', 80)]),
      job([prereq('Succeeded'), initial('Succeeded', 100)], 'Succeeded'),
    ]);
    await followJob(client, 'x', new TtyJobView(out), noSleep);
    const drawn = out.streamed.join('');
    expect(drawn).toMatch(/Initial replication \[[█░]+\]\s+40%/);
    expect(drawn).toMatch(/Initial replication \[[█░]+\]\s+80%/);
    // Step lines went to stdout before the bar showed and after it was removed.
    expect(out.stdout).toContain('06:30:02  Initial replication: InProgress');
    expect(out.stdout).toContain('06:30:20  Initial replication: Succeeded (18s)');
    expect(out.stdout.at(-1)).toBe('Job enable-shop-rg-web1 Succeeded in 30s');
  });
});
