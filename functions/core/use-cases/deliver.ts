/**
 * Fan-out: post one frame to many connections, count what failed, and prune connections that
 * API Gateway says are gone. Delivery is at-least-once and best-effort: what it posts is already
 * stored, so nothing here ever makes the operation that triggered it fail.
 */
import type { Broadcaster, Clock, DeliveryReport, Logger, Metrics } from '#core/ports';
import type { ServerFrame } from '#core/protocol';
import { unique } from './access.ts';

/** Posts `frame` to `connectionIds` and reports what happened. Never throws. */
export type Deliver = (frame: ServerFrame, connectionIds: readonly string[]) => Promise<DeliveryReport>;

export interface DeliverDeps {
  broadcaster: Broadcaster;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /**
   * Forgets a connection API Gateway reported gone (normally the disconnect use case); resolving
   * to `false` means it chose not to (not counted as pruned). Without it, gone connections are
   * only counted.
   */
  prune?: (connectionId: string) => Promise<unknown>;
}

const EMPTY: DeliveryReport = { delivered: [], gone: [], failed: [] };

/**
 * Builds `deliver(frame, connectionIds)`:
 * - posts the frame once to each distinct connection (`broadcaster.send`), timing it as `FanOutLatency`;
 * - counts `failed` connections as `DeliveryFailures` (the client catches up by seq);
 * - prunes each `gone` connection through `prune`, counting `StaleConnectionsPruned`; a prune that
 *   fails is logged and never fails the delivery;
 * - a broadcaster that throws anyway is reported as every connection failed.
 */
export function makeDeliver({ broadcaster, clock, metrics, logger, prune }: DeliverDeps): Deliver {
  return async (frame, connectionIds) => {
    const ids = unique(connectionIds);
    if (ids.length === 0) return EMPTY;

    const started = clock.now().getTime();
    let report: DeliveryReport;
    try {
      report = await broadcaster.send(ids, frame);
    } catch (error) {
      logger.error('Fan-out failed', { event: frame.event, connections: ids.length, error: String(error) });
      report = { delivered: [], gone: [], failed: ids };
    }
    metrics.timing('FanOutLatency', clock.now().getTime() - started);

    if (report.failed.length > 0) {
      metrics.count('DeliveryFailures', report.failed.length);
      logger.warn('Some connections did not receive a frame', { event: frame.event, failed: report.failed });
    }
    if (report.gone.length > 0) {
      if (!prune) {
        logger.info('Gone connections left for their own disconnect', { gone: report.gone });
      } else {
        const results = await Promise.allSettled(report.gone.map((connectionId) => prune(connectionId)));
        const pruned = results.filter((result) => result.status === 'fulfilled' && result.value !== false).length;
        if (pruned > 0) metrics.count('StaleConnectionsPruned', pruned);
        results.forEach((result, i) => {
          if (result.status === 'rejected') {
            logger.warn('Could not prune a gone connection', { connectionId: report.gone[i], error: String(result.reason) });
          }
        });
      }
    }
    return report;
  };
}

/**
 * Runs a notification after the change it announces is committed. A failure to find the audience
 * (a store outage) is logged, not thrown: the change stands, and clients catch up by reading.
 */
export async function notifyAfterCommit(logger: Logger, what: string, notify: () => Promise<unknown>): Promise<void> {
  try {
    await notify();
  } catch (error) {
    logger.error(`Could not notify: ${what}`, { error: String(error) });
  }
}
