/**
 * CPU time and resident memory of a process, read from /proc (Linux), so the load bench can sample
 * the host, the agents and each Azurite on their own. Elsewhere every reading is undefined.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface ProcReading {
  /** User + system CPU time so far, in ms. */
  cpuMs: number;
  rssBytes: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export function readProc(pid: number | undefined): ProcReading | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime (14), stime (15)
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
    return { cpuMs: (ticks * 1000) / clockTicks(), rssBytes: rssKiB * 1024 };
  } catch {
    return undefined;
  }
}

/** CPU use between two readings, in percent of one core. */
export function cpuPercent(
  before: ProcReading | undefined,
  after: ProcReading | undefined,
  elapsedMs: number,
): number {
  if (!before || !after || elapsedMs <= 0) return NaN;
  return ((after.cpuMs - before.cpuMs) / elapsedMs) * 100;
}
