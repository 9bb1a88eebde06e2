/**
 * `GET /providers/:providerId/stats`: how much a provider's customers write, how much its staff
 * answer, and how fast. Its own staff and admins only (the policy's `viewStats`). The range is
 * `[from, to)`, by default the 30 days up to now.
 *
 * A first response is the time from a customer message that follows the provider's last message
 * (or opens the conversation) to the provider's next message; a SYSTEM message a service sends
 * is neither side's. The figures come from what each send keeps up to date (see
 * MessageStore.append), so reading them costs one round trip whatever the history.
 */
import type { Identity } from '#core/model';
import { requireCapabilityOnProvider } from '#core/policy';
import type { Clock, ProviderStatistics, ProviderStats } from '#core/ports';

/** The range when the caller names no `from`. */
export const DEFAULT_STATS_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ProviderStatsDeps {
  statistics: ProviderStatistics;
  clock: Clock;
}

export interface ProviderStatsInput {
  identity: Identity;
  providerId: number;
  from?: Date;
  to?: Date;
}

export type ProviderStatsResult = ProviderStats & { providerId: number; from: string; to: string };

export function makeProviderStats({ statistics, clock }: ProviderStatsDeps) {
  return async ({ identity, providerId, from, to }: ProviderStatsInput): Promise<ProviderStatsResult> => {
    requireCapabilityOnProvider(identity, 'viewStats', providerId);
    const end = to ?? clock.now();
    const start = from ?? new Date(end.getTime() - DEFAULT_STATS_DAYS * DAY_MS);
    const stats = await statistics.stats(providerId, start, end);
    return { providerId, from: start.toISOString(), to: end.toISOString(), ...stats };
  };
}
