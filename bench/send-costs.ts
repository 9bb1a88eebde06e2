/**
 * The phases about the cost of a send, registered from bin/bench.ts in one call: the fan-out at
 * scale (fan-out.ts), the cost per million sends from the counted calls (costs.ts, needs the
 * round-trips phase in the same run) and main-thread CPU per send by module (cpu-split.ts).
 * Their figures go into the same results JSON, under `fanOut`, `costs` and `cpuSplit`.
 */
import type { BenchContext } from './phases.ts';
import type { BenchResults } from './report.ts';
import { costPerMillionSends, formatCosts, type CostFigures } from './costs.ts';
import { cpuSplit, formatCpuSplit, type CpuSplitFigures } from './cpu-split.ts';
import { fanOut, formatFanOut, type FanOutFigures } from './fan-out.ts';

type PhaseName = 'fan-out' | 'costs' | 'cpu-split';

export interface SendCostResults {
  fanOut?: FanOutFigures;
  costs?: CostFigures;
  cpuSplit?: CpuSplitFigures;
}

export const SEND_COST_PLAN = {
  fanOutLevels: [100, 1_000, 10_000],
  /** Lookups timed per method and level: fewer for the 10 000-item Scans. */
  fanOutRounds: (level: number, quick: boolean) => (level >= 10_000 ? 3 : quick ? 5 : 10),
  cpuConversations: 10,
  cpuPerConversation: (quick: boolean) => (quick ? 20 : 50),
  cpuSamplingIntervalUs: 500,
};

export async function runSendCostPhases(
  context: BenchContext,
  results: BenchResults & SendCostResults,
  options: { runs: (phase: PhaseName) => boolean; quick: boolean; phase: <T>(name: PhaseName, work: () => Promise<T>) => Promise<T> },
): Promise<void> {
  const { runs, quick, phase } = options;
  if (runs('costs')) {
    if (!results.roundTrips) throw new Error('The costs phase computes from the round-trips phase: run both (--only round-trips,costs)');
    results.costs = costPerMillionSends(results.roundTrips);
  }
  if (runs('fan-out')) {
    context.progress('fan-out at scale: the product lookup against a full-table Scan');
    results.fanOut = await phase('fan-out', () => fanOut(context, SEND_COST_PLAN.fanOutLevels, (level) => SEND_COST_PLAN.fanOutRounds(level, quick)));
  }
  if (runs('cpu-split')) {
    context.progress('profiling main-thread CPU per send by module');
    results.cpuSplit = await phase('cpu-split', () =>
      cpuSplit(context, {
        conversations: SEND_COST_PLAN.cpuConversations,
        perConversation: SEND_COST_PLAN.cpuPerConversation(quick),
        samplingIntervalUs: SEND_COST_PLAN.cpuSamplingIntervalUs,
      }),
    );
  }
}

export function formatSendCostPhases(results: SendCostResults): string {
  return [results.costs && formatCosts(results.costs), results.fanOut && formatFanOut(results.fanOut), results.cpuSplit && formatCpuSplit(results.cpuSplit)]
    .filter(Boolean)
    .join('\n');
}
