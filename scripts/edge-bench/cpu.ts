/**
 * CPU time of a process, for CPU-microseconds-per-request figures (steadier than latency on a shared
 * machine). Linux: utime + stime from /proc/<pid>/stat (clock ticks, 100 Hz: over 10,000 requests the
 * resolution is 1 us per request). Elsewhere NaN, and the table says so.
 */
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

/** Total CPU seconds (user + system) a process has used so far, or NaN when /proc is not there. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

/** This process (the load generator): process.cpuUsage is in microseconds, so it works everywhere. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Seconds a process's main thread (where its JavaScript runs) has spent ready to run but waiting
 * for a core, from /proc/<pid>/schedstat (nanoseconds; the second field); NaN without it. On a
 * machine with fewer cores than busy processes this is where latency tails come from: each hop
 * must be scheduled before it can pass a request on.
 */
export function processRunQueueWaitSeconds(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
  } catch {
    return NaN;
  }
}
