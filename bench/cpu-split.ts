/**
 * Main-thread CPU per WebSocket send, split by whose code ran: the V8 sampling profiler
 * (node:inspector, in this process, where the handlers and the emulator run; the clients run in
 * their own thread and are not sampled) records a stack every 500 µs while conversations send
 * in a closed loop, and each sample is put down to the module of its innermost frame that
 * belongs to someone: Node's own frames (`node:http`, `node:net`, builtins) count for the code
 * that called them, so the HTTP requests the AWS SDK makes are the SDK's, the WebSocket frames
 * the emulator writes are the emulator's. Stacks of Node frames only (I/O callbacks, timers)
 * are "Node.js runtime"; the garbage collector is its own line.
 *
 * The total is the main thread's own CPU time (/proc), split in the samples' proportions. The
 * profiler slows what it samples a little, so it is somewhat above an unprofiled run.
 */
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { BenchContext } from './phases.ts';
import { makePairs } from './fixtures.ts';
import { round, table } from './stats.ts';
import { settle } from './phases.ts';

export const CPU_CATEGORIES = [
  'handler code (functions/)',
  'handler libraries (Powertools, middy, zod, jose, …)',
  'AWS SDK (@aws-sdk, @smithy)',
  'Postgres client (Prisma, pg)',
  'emulator (lib/local, ws)',
  'bench counters',
  'Node.js runtime',
  'garbage collector',
] as const;
export type CpuCategory = (typeof CPU_CATEGORIES)[number];

export interface CpuSplitFigures {
  conversations: number;
  sends: number;
  errors: number;
  samplingIntervalUs: number;
  /**
   * Main-thread CPU per completed send (ms), by category: the main thread's own CPU time (from
   * /proc) split in the proportions of the profile's samples. On a loaded machine the samples'
   * wall-clock gaps overstate time (a thread kept off the CPU is still "in" its frame); the
   * proportions stay sound and the CPU time is the thread's own.
   */
  msPerSend: Record<CpuCategory, number>;
  totalMsPerSend: number;
  /** The profile's own total per send (wall-clock sample gaps, ms), for comparison. */
  sampledMsPerSend: number;
}

/**
 * CPU time the main thread itself used so far (ms): utime + stime of this process's first task
 * in /proc (Linux; NaN elsewhere). Unlike the profile's wall-clock sample gaps, it does not
 * grow when other processes keep the thread off the CPU.
 */
function mainThreadCpuMs(): number {
  try {
    const text = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** The category of a frame, or null when it belongs to whoever called it (Node's own code). */
function categoryOf(frame: ProfileNode['callFrame']): CpuCategory | null | 'idle' {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)' || functionName === '(root)') return 'Node.js runtime';
    return null;
  }
  if (url.startsWith('node:')) return null;
  if (/\/node_modules\/(@aws-sdk|@smithy|@aws-crypto)\//.test(url)) return 'AWS SDK (@aws-sdk, @smithy)';
  if (/\/node_modules\/(pg|pg-protocol|pg-pool|pg-types|pg-cloudflare|pgpass|@prisma)\//.test(url) || url.includes('/functions/adapters/postgres/generated/')) {
    return 'Postgres client (Prisma, pg)';
  }
  if (url.includes('/lib/local/') || /\/node_modules\/ws\//.test(url)) return 'emulator (lib/local, ws)';
  if (url.includes('/bench/')) return 'bench counters';
  if (url.includes('/node_modules/')) return 'handler libraries (Powertools, middy, zod, jose, …)';
  if (url.includes('/functions/')) return 'handler code (functions/)';
  return 'Node.js runtime';
}

/** CPU µs by category over a profile: each sample to its innermost frame that has an owner. */
export function attribute(profile: { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] }): Record<CpuCategory, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const owner = new Map<number, CpuCategory | 'idle'>();
  const ownerOf = (id: number): CpuCategory | 'idle' => {
    const known = owner.get(id);
    if (known) return known;
    let current: number | undefined = id;
    let found: CpuCategory | 'idle' = 'Node.js runtime';
    while (current !== undefined) {
      const category = categoryOf(byId.get(current)!.callFrame);
      if (category !== null) {
        found = category;
        break;
      }
      current = parent.get(current);
    }
    owner.set(id, found);
    return found;
  };
  const totals = Object.fromEntries(CPU_CATEGORIES.map((category) => [category, 0])) as Record<CpuCategory, number>;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const category = ownerOf(samples[i]!);
    // A sample's time is the gap to the next one (the last sample has none).
    const us = deltas[i + 1] ?? 0;
    if (category !== 'idle') totals[category] += us;
  }
  return totals;
}

export async function cpuSplit(context: BenchContext, options: { conversations: number; perConversation: number; samplingIntervalUs: number }): Promise<CpuSplitFigures> {
  const { runtime, client, ids } = context;
  const pairs = await makePairs(runtime.httpUrl, runtime.issuer, Array.from({ length: options.conversations }, () => ids.party(1)), 1);
  await client.run('openPairs', { httpUrl: runtime.httpUrl, wsUrl: runtime.wsUrl, pairs });
  await client.run('converse', { warmup: 0, perPair: 10, timeLimitMs: 20_000, tag: 'cpu-warm' });
  await settle(context, { quietMs: 150 });

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: options.samplingIntervalUs });
  await session.post('Profiler.start');
  const cpuBefore = mainThreadCpuMs();
  let outcome;
  let profile;
  let cpuUsed: number;
  try {
    outcome = await client.run('converse', { warmup: 0, perPair: options.perConversation, timeLimitMs: 30_000, tag: 'cpu' });
    // The fan-out and the events after the last ack belong to these sends too.
    await settle(context, { quietMs: 150 });
  } finally {
    cpuUsed = mainThreadCpuMs() - cpuBefore;
    ({ profile } = await session.post('Profiler.stop'));
    await session.post('Profiler.disable');
    session.disconnect();
  }
  await client.run('closeAll', {});
  await settle(context, { closed: true });

  const totals = attribute(profile as { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[] });
  const sends = Math.max(1, outcome.completed);
  const sampledMs = Object.values(totals).reduce((sum, us) => sum + us, 0) / 1000;
  const scale = Number.isFinite(cpuUsed) && sampledMs > 0 ? cpuUsed / sampledMs : 1;
  const msPerSend = Object.fromEntries(CPU_CATEGORIES.map((category) => [category, round((totals[category] / 1000 / sends) * scale, 3)])) as Record<CpuCategory, number>;
  return {
    conversations: options.conversations,
    sends: outcome.completed,
    errors: outcome.errors,
    samplingIntervalUs: options.samplingIntervalUs,
    msPerSend,
    totalMsPerSend: round((sampledMs * scale) / sends, 2),
    sampledMsPerSend: round(sampledMs / sends, 2),
  };
}

export function formatCpuSplit(figures: CpuSplitFigures): string {
  return `\nMain-thread CPU per WebSocket send, by module (V8 sampling profiler every ${figures.samplingIntervalUs} µs; ${figures.sends} sends in ${figures.conversations} conversations, ${figures.errors} errors)\n${table(
    ['part', 'ms per send', 'share'],
    [
      ...CPU_CATEGORIES.map((category) => [category, figures.msPerSend[category].toFixed(3), `${Math.round((figures.msPerSend[category] / figures.totalMsPerSend) * 100)} %`]),
      ['total (main thread CPU from /proc)', figures.totalMsPerSend.toFixed(2), '100 %'],
    ],
  )}\n(the profile's wall-clock samples came to ${figures.sampledMsPerSend} ms per send; split above in their proportions)`;
}
