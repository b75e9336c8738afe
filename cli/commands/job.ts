/** `tidemark job list|show|watch` (GET /api/jobs, /api/jobs/{id}) and `tidemark health`. */
import type { Command } from 'commander';

import { JOB_STATES, type Job, type JobState } from '../../shared/jobs/types';
import { jobPath } from '../apiClient';
import { formatVmRef, parseVmRef, type VmRef } from '../args';
import { CliError, EXIT, usageError } from '../errors';
import { formatValue, jobDetail, jobListTable, table } from '../format';
import { type CtxFactory, printJson, waitForJob } from './context';

/** A job id as `job list` shows it. */
export function parseJobId(text: string): string {
  if (text.trim() === '' || /\s/.test(text)) {
    throw usageError(`"${text}" is not a job id.`, '`tidemark job list` lists the jobs and their ids.');
  }
  return text;
}

/** --state of `job list`: a job state, any case. */
export function parseJobState(text: string): JobState {
  const state = JOB_STATES.find((s) => s.toLowerCase() === text.trim().toLowerCase());
  if (!state) {
    throw usageError(`--state "${text}" is not a job state.`, `Use one of ${JOB_STATES.join(', ')}.`);
  }
  return state;
}

interface JobListOptions {
  state?: JobState;
  vm?: VmRef;
}

interface Health {
  status?: string;
  version?: string;
  regions?: { name: string; role: string; reachable: boolean; latencyMs?: number; error?: string }[];
}

export function registerJob(program: Command, context: CtxFactory): void {
  const job = program.command('job').description('jobs: the runs of the workflows, with their steps');

  job
    .command('list')
    .description('list the jobs, newest first (every page)')
    .option('--state <state>', `only jobs in this state: ${JOB_STATES.join(', ')}`, parseJobState)
    .option('--vm <rg/vm>', "only this VM's jobs: RESOURCE_GROUP/NAME", parseVmRef)
    .action(async (options: JobListOptions, cmd: Command) => {
      const ctx = context(cmd);
      const params = new URLSearchParams();
      if (options.state) params.set('state', options.state);
      if (options.vm) params.set('vm', formatVmRef(options.vm));
      const query = params.size > 0 ? `?${params.toString()}` : '';
      const jobs = await ctx.client.getAll<Job>(`/api/jobs${query}`, 'jobs');
      if (ctx.json) printJson(ctx, { jobs });
      else ctx.out.out(jobListTable(jobs));
    });

  job
    .command('show')
    .description('show a job and its steps')
    .argument('<id>', 'the job id', parseJobId)
    .action(async (id: string, _options: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const { body } = await ctx.client.get<Job>(jobPath(id));
      if (ctx.json) printJson(ctx, body);
      else ctx.out.out(jobDetail(body));
    });

  job
    .command('watch')
    .description('follow a job to its end (steps, progress); exit 3 if it failed or was cancelled')
    .argument('<id>', 'the job id', parseJobId)
    .action(async (id: string, _options: unknown, cmd: Command) => {
      await waitForJob(context(cmd), id);
    });

  program
    .command('health')
    .description("the host's version and whether it reaches each region's storage (no key needed)")
    .action(async (_options: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const { status, body } = await ctx.client.get<Health>('/api/health', { accept: [503] });
      if (ctx.json) printJson(ctx, body);
      else {
        ctx.out.out(`tidemark ${body.version ?? '?'} at ${ctx.client.baseUrl}: ${body.status ?? status}`);
        const regions = body.regions ?? [];
        if (regions.length > 0) {
          ctx.out.out(
            table(
              ['Region', 'Role', 'Storage', ''],
              regions
                .map((r) => [
                  r.name,
                  r.role,
                  r.reachable
                    ? `reachable${r.latencyMs !== undefined ? ` (${r.latencyMs} ms)` : ''}`
                    : 'unreachable',
                  formatValue(r.error ?? ''),
                ])
                .map((row) => row.map((c) => (c === '-' ? '' : c))),
            ),
          );
        }
      }
      if (status !== 200) {
        throw new CliError(
          EXIT.system,
          `tidemark at ${ctx.client.baseUrl} is ${body.status ?? 'not healthy'}: it does not reach every region's storage.`,
          "Check that the regions' storage (Azurite locally) runs and the host's storage settings.",
          { code: 'Degraded' },
        );
      }
    });
}
