/**
 * Steps of a job, for orchestrations. Deterministic: times come from context.df.currentUtcDateTime,
 * and the only side effect is the custom status, set at every transition so GET /api/jobs/{id}
 * shows each step as it starts, moves on and ends.
 *
 *   const job = new JobSteps(context, 'EnableReplication', vm, ['Prerequisites check', ...]);
 *   const checked = yield* job.step('Prerequisites check', function* () { return yield* job.call(...); });
 *
 * A step that throws is marked Failed with the error's message, the job's error is set, and the
 * orchestration fails with that message.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';

import { type ActivityOutcome, failureMessage } from '../shared/jobs/activityOutcome';
import type { JobCustomStatus, JobKind, JobStep, JobVm } from '../shared/jobs/types';

/** What a step body yields: Durable tasks; what it gets back: their results. */
export type StepBody<T> = Generator<Task, T, unknown>;

/** A failure whose message is meant for the user as it is. */
export class StepFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepFailure';
  }
}

/** System failures of activities are retried: 3 attempts, 2 s then 4 s apart. */
const RETRY = new df.RetryOptions(2000, 3);
RETRY.backoffCoefficient = 2;

/** The message of an error that reached the orchestration, without the Durable wrapping. */
export function errorText(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const first = raw.split(' \n ')[0] ?? raw;
  return first.replace(/^Activity function '[^']*' failed: /, '').trim() || 'The step failed.';
}

export class JobSteps {
  readonly #status: JobCustomStatus;

  constructor(
    private readonly context: OrchestrationContext,
    kind: JobKind,
    vm: JobVm,
    stepNames: readonly string[],
  ) {
    this.#status = { kind, vm, steps: stepNames.map((name) => ({ name, state: 'NotStarted' })) };
    this.#publish();
  }

  get status(): JobCustomStatus {
    return this.#status;
  }

  #now(): string {
    return this.context.df.currentUtcDateTime.toISOString();
  }

  #publish(): void {
    this.context.df.setCustomStatus(this.#status);
  }

  #find(name: string): JobStep {
    const step = this.#status.steps.find((s) => s.name === name);
    if (!step) throw new Error(`Job step "${name}" was not declared.`);
    return step;
  }

  /** Runs `body` as the step `name`: InProgress, then Succeeded, or Failed with the error's message. */
  *step<T>(name: string, body: () => StepBody<T>): StepBody<T> {
    const step = this.#find(name);
    step.state = 'InProgress';
    step.startedAt = this.#now();
    this.#publish();
    try {
      const value = yield* body();
      step.state = 'Succeeded';
      step.endedAt = this.#now();
      if (step.progress !== undefined) step.progress = 100;
      this.#publish();
      return value;
    } catch (err) {
      const message = errorText(err);
      step.state = 'Failed';
      step.endedAt = this.#now();
      step.error = message;
      this.#status.error = `${name} failed: ${message}`;
      this.#publish();
      throw new StepFailure(this.#status.error);
    }
  }

  /** Marks a step that does not apply to this run as Skipped. */
  skip(name: string): void {
    const step = this.#find(name);
    step.state = 'Skipped';
    this.#publish();
  }

  /** Notes something that went wrong without failing the step (shown as the step's `warning`). */
  warn(name: string, text: string): void {
    const step = this.#find(name);
    step.warning = step.warning ? `${step.warning} ${text}` : text;
    this.#publish();
  }

  /** Records a step's progress (0–100, rounded down, never backwards). */
  progress(name: string, percent: number): void {
    const step = this.#find(name);
    const value = Math.max(0, Math.min(100, Math.floor(percent)));
    if (step.progress !== undefined && value <= step.progress) return;
    step.progress = value;
    this.#publish();
  }

  /**
   * Calls an activity that answers with an ActivityOutcome (retrying system failures); a user error
   * it returns fails the step with its message.
   */
  *call<T>(activity: string, input: unknown): StepBody<T> {
    const outcome = (yield this.context.df.callActivityWithRetry(
      activity,
      RETRY,
      input,
    )) as ActivityOutcome<T>;
    if (!outcome.ok) throw new StepFailure(failureMessage(outcome.error));
    return outcome.value;
  }

  /** Waits `ms` on a durable timer. */
  *sleep(ms: number): StepBody<void> {
    yield this.context.df.createTimer(new Date(this.context.df.currentUtcDateTime.getTime() + ms));
  }

  /** The orchestration's replay-safe time (ms). */
  now(): number {
    return this.context.df.currentUtcDateTime.getTime();
  }

  /** Records the job's result and returns it, for the orchestration to return. */
  succeed<R>(result: R): R {
    this.#status.result = result;
    this.#publish();
    return result;
  }
}
