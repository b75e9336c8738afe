/**
 * What every command gets: the API client made from the global flags (--url, --key, or their
 * environment variables), the output, --json, and how to start and follow a job.
 */
import type { Command } from 'commander';

import type { Job } from '../../shared/jobs/types';
import { ApiClient, DEFAULT_URL, type FetchLike, jobPath } from '../apiClient';
import { parseUrl } from '../args';
import { CliError, EXIT, usageError } from '../errors';
import { type FollowOptions, followJob, jobFailure } from '../follow';
import { jobStarted } from '../format';
import { jobViewFor } from '../jobView';
import type { Output } from '../output';

/** What the program is built with: the real process, or fakes in tests. */
export interface CliDeps {
  output: Output;
  env: Record<string, string | undefined>;
  fetch?: FetchLike;
  now?: () => number;
  follow?: FollowOptions;
}

export interface GlobalOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

export interface Ctx {
  client: ApiClient;
  out: Output;
  json: boolean;
  now: () => number;
  follow: FollowOptions;
}

export type CtxFactory = (cmd: Command) => Ctx;

export function contextFactory(deps: CliDeps): CtxFactory {
  return (cmd) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const fromEnv = g.url === undefined && deps.env.TIDEMARK_URL ? deps.env.TIDEMARK_URL : undefined;
    let url: string;
    try {
      url = parseUrl(g.url ?? fromEnv ?? DEFAULT_URL);
    } catch (err) {
      if (fromEnv !== undefined && err instanceof CliError) {
        throw usageError(
          `TIDEMARK_URL "${fromEnv}" is not an http(s) URL.`,
          'Set it to e.g. http://127.0.0.1:7071.',
        );
      }
      throw err;
    }
    return {
      client: new ApiClient({
        url,
        key: g.key ?? deps.env.TIDEMARK_KEY,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      }),
      out: deps.output,
      json: g.json === true,
      now: deps.now ?? Date.now,
      follow: deps.follow ?? {},
    };
  };
}

/** The API's JSON as it came, pretty. */
export function printJson(ctx: Ctx, value: unknown): void {
  ctx.out.out(JSON.stringify(value, null, 2));
}

/** Follows job `id` to its end with the view for the output; exit 3 unless it succeeded. */
export async function waitForJob(ctx: Ctx, id: string): Promise<Job> {
  const job = await followJob(ctx.client, id, jobViewFor(ctx.out, ctx.json), ctx.follow);
  if (ctx.json) printJson(ctx, job);
  if (job.state !== 'Succeeded') throw jobFailure(job);
  return job;
}

/** POSTs a starting route (202 {job}); prints the job, or follows it with --wait. */
export async function startJob(ctx: Ctx, path: string, body: unknown, wait: boolean): Promise<void> {
  const answer = await ctx.client.post<{ job?: Job }>(path, body);
  const job = answer.body.job;
  const id = job?.id ?? (answer.location ? decodeURIComponent(answer.location.split('/').pop() ?? '') : '');
  if (!id) {
    throw new CliError(
      EXIT.system,
      `POST ${path} answered ${answer.status} without a job.`,
      'Check that --url points at a tidemark host of this version.',
      { code: 'InvalidResponse' },
    );
  }
  if (!wait) {
    if (ctx.json) printJson(ctx, answer.body);
    else ctx.out.out(jobStarted(job ?? (await ctx.client.get<Job>(jobPath(id))).body));
    return;
  }
  await waitForJob(ctx, id);
}
