/**
 * The recovery-point timer's schedule: app setting TIDEMARK_RECOVERY_POINT_SCHEDULE (NCRONTAB with
 * seconds), default every 5 minutes as in Site Recovery; declared in shared/settings.ts. Read when the
 * function registers, not as a `%Setting%` binding expression: the Functions host refuses to index a
 * function whose expression names a missing setting, and an expression cannot carry a default.
 */
import { DEFAULT_RECOVERY_POINT_SCHEDULE, readSetting } from '../settings';

export const RECOVERY_POINT_SCHEDULE_SETTING = 'TIDEMARK_RECOVERY_POINT_SCHEDULE';
export { DEFAULT_RECOVERY_POINT_SCHEDULE };

export function recoveryPointSchedule(env: Record<string, string | undefined> = process.env): string {
  return readSetting(RECOVERY_POINT_SCHEDULE_SETTING, env);
}
