/**
 * The recovery-point timer's schedule: app setting TIDEMARK_RECOVERY_POINT_SCHEDULE (NCRONTAB with
 * seconds), default every 5 minutes as in Site Recovery. Read when the function registers, not as a
 * `%Setting%` binding expression: the Functions host refuses to index a function whose expression
 * names a missing setting, and an expression cannot carry a default.
 */
export const RECOVERY_POINT_SCHEDULE_SETTING = 'TIDEMARK_RECOVERY_POINT_SCHEDULE';
export const DEFAULT_RECOVERY_POINT_SCHEDULE = '0 */5 * * * *';

export function recoveryPointSchedule(env: Record<string, string | undefined> = process.env): string {
  const value = env[RECOVERY_POINT_SCHEDULE_SETTING]?.trim();
  return value ? value : DEFAULT_RECOVERY_POINT_SCHEDULE;
}
