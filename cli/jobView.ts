/**
 * How a followed job shows. On a terminal: a line per step as it starts and ends, and a cli-progress
 * bar for a step that reports progress (Initial replication). Elsewhere (CI logs, pipes): the same
 * lines, and progress as a plain line every 10 %. Both end with the step table and the outcome.
 * With --json nothing shows until the final job.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

import type { Job, JobStep } from '../shared/jobs/types';
import type { JobView, StepEvent } from './follow';
import { stepEvents } from './follow';
import { formatClock, formatSpan, jobHeading, jobOutcome, stepTable } from './format';
import type { Output } from './output';

/** The line for a step event: `06:30:01  Initial replication: Succeeded (12s)`. */
export function eventLine(event: StepEvent, now: number): string {
  const { step } = event;
  if (event.kind === 'progress') return `${formatClock(now)}  ${step.name}: ${event.progress}%`;
  const at = step.state === 'InProgress' ? (step.startedAt ?? now) : (step.endedAt ?? step.startedAt ?? now);
  let text = `${formatClock(at)}  ${step.name}: ${step.state}`;
  if (step.state === 'Succeeded' || step.state === 'Failed') {
    const span = formatSpan(step.startedAt, step.endedAt);
    if (span !== '-') text += ` (${span})`;
  }
  if (step.error) text += `: ${step.error}`;
  if (step.warning) text += ` (warning: ${step.warning})`;
  return text;
}

function summary(job: Job): string {
  return `\n${stepTable(job.steps ?? [])}\n\nJob ${job.id} ${jobOutcome(job)}`;
}

/** Shared by both views: heading once, step lines, summary at the end. */
abstract class LineView implements JobView {
  #last: Job | undefined;
  protected readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  protected abstract line(text: string): void;
  protected abstract progress(step: JobStep, progress: number): void;
  protected abstract stepEnded(step: JobStep): void;
  protected abstract finish(): void;
  abstract abort(): void;

  update(job: Job): void {
    const first = this.#last === undefined;
    const events = stepEvents(this.#last, job);
    this.#last = job;
    if (first) {
      this.line(jobHeading(job));
      // A job that has already ended shows only its summary.
      if (job.state !== 'InProgress') return;
    }
    for (const event of events) {
      if (event.kind === 'progress') {
        this.progress(event.step, event.progress);
        continue;
      }
      if (event.previous === 'InProgress' || event.step.state !== 'InProgress') this.stepEnded(event.step);
      this.line(eventLine(event, this.now()));
    }
  }

  end(job: Job): void {
    this.finish();
    this.line(summary(job));
  }
}

/** Plain lines, for logs: progress every 10 % (and at 100 %). */
export class PlainJobView extends LineView {
  readonly #out: Output;
  readonly #shown = new Map<string, number>();

  constructor(out: Output, now?: () => number) {
    super(now);
    this.#out = out;
  }

  protected line(text: string): void {
    this.#out.out(text);
  }

  protected progress(step: JobStep, progress: number): void {
    const bucket = Math.floor(progress / 10);
    if (bucket <= (this.#shown.get(step.name) ?? -1)) return;
    this.#shown.set(step.name, bucket);
    this.#out.out(eventLine({ kind: 'progress', step, progress }, this.now()));
  }

  protected stepEnded(): void {}
  protected finish(): void {}
  abort(): void {}
}

/** On a terminal: a cli-progress bar per step with progress, lines above the bars. */
export class TtyJobView extends LineView {
  readonly #out: Output;
  readonly #bars = new Map<string, SingleBar>();
  #multibar: MultiBar | undefined;

  constructor(out: Output, now?: () => number) {
    super(now);
    this.#out = out;
  }

  protected line(text: string): void {
    if (this.#multibar) {
      this.#multibar.log(`${text}\n`);
      this.#multibar.update();
    } else {
      this.#out.out(text);
    }
  }

  protected progress(step: JobStep, progress: number): void {
    this.#multibar ??= new MultiBar(
      {
        stream: this.#out.stream,
        format: '  {step} [{bar}] {percentage}%',
        barsize: 30,
        hideCursor: true,
        clearOnComplete: true,
        autopadding: true,
      },
      Presets.shades_classic,
    );
    const bar = this.#bars.get(step.name);
    if (bar) bar.update(progress, { step: step.name });
    else this.#bars.set(step.name, this.#multibar.create(100, progress, { step: step.name }));
    // Draw now rather than on cli-progress's next tick: a poll may end the step before it.
    this.#multibar.update();
  }

  protected stepEnded(step: JobStep): void {
    const bar = this.#bars.get(step.name);
    if (!bar || !this.#multibar) return;
    this.#bars.delete(step.name);
    this.#multibar.remove(bar);
    if (this.#bars.size === 0) this.finish();
  }

  protected finish(): void {
    if (!this.#multibar) return;
    this.#multibar.update();
    this.#multibar.stop();
    this.#multibar = undefined;
    this.#bars.clear();
  }

  abort(): void {
    this.finish();
  }
}

/** --json: nothing while following; the command prints the final job. */
export class SilentJobView implements JobView {
  update(): void {}
  end(): void {}
  abort(): void {}
}

export function jobViewFor(out: Output, json: boolean): JobView {
  if (json) return new SilentJobView();
  return out.tty ? new TtyJobView(out) : new PlainJobView(out);
}
