/**
 * Where the CPU goes during a measurement (Linux): CPU time of this process and of every process
 * it started (embedded Postgres and its backends, DynamoDB Local's JVM), read from /proc, and the
 * event-loop utilisation of this process's main thread, where every handler runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  command: string;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

function readStat(pid: string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command is in parentheses and may contain spaces; the fields after it are fixed.
    const open = text.indexOf('(');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return {
      pid: Number(pid),
      command: text.slice(open + 1, close),
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
    };
  } catch {
    return undefined;
  }
}

/** The component a process belongs to, by its command name. */
function componentOf(stat: ProcStat): string {
  if (stat.pid === process.pid) return 'bench process (handlers, emulator, clients)';
  if (stat.command.startsWith('postgres')) return 'Postgres';
  if (stat.command === 'java') return 'DynamoDB Local (JVM)';
  return `other (${stat.command})`;
}

/** This process and its descendants: each one's CPU seconds so far, and its component. */
function cpuSeconds(): Map<number, { component: string; seconds: number }> {
  const stats: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return new Map();
  }
  for (const pid of entries) {
    const stat = readStat(pid);
    if (stat) stats.push(stat);
  }
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  const found = new Map<number, { component: string; seconds: number }>();
  const self = stats.find((stat) => stat.pid === process.pid);
  const queue = self ? [self] : [];
  while (queue.length) {
    const stat = queue.shift()!;
    found.set(stat.pid, { component: componentOf(stat), seconds: stat.ticks / TICKS_PER_SECOND });
    queue.push(...(children.get(stat.pid) ?? []));
  }
  return found;
}

/** CPU seconds the whole machine spent busy (all processes), from /proc/stat. */
function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...values] = line.trim().split(/\s+/);
    const ticks = values.slice(0, 8).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return (ticks.reduce((sum, value) => sum + value, 0) - idle) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

export interface CpuFigures {
  /**
   * CPU cores each component kept busy on average over the interval (1 = one core), and
   * `other processes`: what the rest of the machine used meanwhile.
   */
  coresBusy: Record<string, number>;
  /** Share of the interval the main thread's event loop was busy (handlers and emulator run there). */
  mainThreadBusy: number;
}

/** Starts measuring; call the result to get the figures for the interval since. */
export function startCpuMeasure(): () => CpuFigures {
  const before = cpuSeconds();
  const machineBefore = machineBusySeconds();
  const elu: EventLoopUtilization = performance.eventLoopUtilization();
  const began = performance.now();
  return () => {
    const elapsed = (performance.now() - began) / 1000;
    const after = cpuSeconds();
    const coresBusy: Record<string, number> = {};
    let ours = 0;
    // Per process, so that one that exited meanwhile (an idle Postgres backend) takes nothing away;
    // what it used before exiting is lost, a slight undercount.
    const used = new Map<string, number>();
    for (const [pid, now] of after) {
      const delta = now.seconds - (before.get(pid)?.seconds ?? 0);
      ours += delta;
      used.set(now.component, (used.get(now.component) ?? 0) + delta);
    }
    for (const [component, seconds] of used) {
      const cores = Math.round((seconds / elapsed) * 100) / 100;
      if (cores > 0) coresBusy[component] = cores;
    }
    const machine = machineBusySeconds() - machineBefore;
    if (Number.isFinite(machine)) coresBusy['other processes'] = Math.max(0, Math.round(((machine - ours) / elapsed) * 100) / 100);
    return { coresBusy, mainThreadBusy: Math.round(performance.eventLoopUtilization(elu).utilization * 100) / 100 };
  };
}
