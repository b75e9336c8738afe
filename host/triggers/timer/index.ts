/**
 * The timer trigger plugin: NCRONTAB or TimeSpan schedules in the app's time zone, runOnStartup,
 * the schedule-status monitor in AzureWebJobsStorage, and function retry policies.
 */
import type { RegisteredFunction } from '../../core/coreApi';
import { functionsOfType, type HostServices, type TriggerPlugin } from '../../plugin';
import { type TimerConfig, timerConfigs } from './config';
import { TimerRunner } from './runner';

const TRIGGER_TYPES = ['timertrigger'] as const;

export function createTimerPlugin(): TriggerPlugin {
  let configs: TimerConfig[] | undefined;
  let runners: TimerRunner[] = [];
  const prepare = (services: HostServices, functions: RegisteredFunction[]): TimerConfig[] =>
    (configs ??= timerConfigs(services, functionsOfType(functions, TRIGGER_TYPES)));

  return {
    name: 'timer',
    triggerTypes: TRIGGER_TYPES,
    init(services, functions) {
      prepare(services, functions);
    },
    async start(services, functions) {
      runners = prepare(services, functions).map((config) => new TimerRunner(config, services));
      await Promise.all(runners.map((runner) => runner.start()));
    },
    async stop() {
      await Promise.all(runners.map((runner) => runner.stop()));
    },
  };
}
