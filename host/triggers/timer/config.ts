/**
 * Reads each timer function's trigger binding (`schedule`, `runOnStartup`, `useMonitor`) at host
 * start, resolving `%Setting%` references; a bad schedule stops the host with the function named.
 */
import { z } from 'zod';

import { TidemarkError } from '../../../shared/errors';
import type { RegisteredFunction } from '../../core/coreApi';
import { type RetryPolicy, retryPolicyFor } from '../../core/retry';
import { parseConfig } from '../../hostJson';
import { type HostServices, triggerBinding } from '../../plugin';
import { parseSchedule, ScheduleError, type TimerSchedule } from './schedule';
import { resolveTimeZone } from './timeZone';

export interface TimerConfig {
  fn: RegisteredFunction;
  name: string;
  /** The schedule after `%Setting%` resolution. */
  expression: string;
  schedule: TimerSchedule;
  timeZone: string;
  runOnStartup: boolean;
  useMonitor: boolean;
  retry?: RetryPolicy;
}

const bindingSchema = z
  .object({
    schedule: z.string({ error: 'schedule is required (an NCRONTAB expression or a TimeSpan)' }),
    runOnStartup: z.boolean().optional(),
    useMonitor: z.boolean().optional(),
  })
  .loose();

export function timerConfigs(services: HostServices, functions: RegisteredFunction[]): TimerConfig[] {
  if (functions.length === 0) return [];
  const timeZone = resolveTimeZone(services.settings);
  return functions.map((fn) => timerConfig(services, fn, timeZone));
}

function timerConfig(services: HostServices, fn: RegisteredFunction, timeZone: string): TimerConfig {
  const name = fn.metadata.name;
  const binding = parseConfig(bindingSchema, triggerBinding(fn).binding, `The timer trigger of "${name}"`);
  const raw = binding.schedule;
  const expression = services.settings.resolve(raw, `The timer schedule of function "${name}"`);
  let schedule: TimerSchedule;
  try {
    schedule = parseSchedule(expression, timeZone);
  } catch (err) {
    if (!(err instanceof ScheduleError)) throw err;
    const shown = raw === expression ? `"${raw}"` : `"${raw}" (= "${expression}")`;
    throw new TidemarkError(
      'InvalidConfig',
      `Function "${name}" has an invalid timer schedule ${shown}: ${err.message}.`,
      {
        hint: err.hint,
        details: { function: name, schedule: raw, resolved: expression },
      },
    );
  }
  // The host turns the monitor off for schedules firing more than once a minute, whatever was asked.
  const useMonitor = (binding.useMonitor ?? true) && !schedule.frequent;
  if (binding.useMonitor && !useMonitor) {
    services.logger.debug(
      `Timer '${name}': useMonitor is off because the schedule fires more than once a minute.`,
    );
  }
  if (useMonitor) services.storage.get(undefined, `timer schedule monitor of "${name}"`);
  return {
    fn,
    name,
    expression,
    schedule,
    timeZone,
    runOnStartup: binding.runOnStartup ?? false,
    useMonitor,
    retry: retryPolicyFor(fn, services.hostJson.retry),
  };
}
