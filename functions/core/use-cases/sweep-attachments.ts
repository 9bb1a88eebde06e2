/**
 * The orphan sweep (scheduled): deletes what no message carries any more, objects first, then
 * records, in bounded batches.
 *
 * - Orphans: uploads no message claimed within CHAT_ATTACHMENT_ORPHAN_HOURS (an intent the app
 *   abandoned, a photo picked and never sent). The sweep takes them a margin after that age
 *   ({@link SWEEP_MARGIN_MS}), while a send only claims attachments younger than it, so a send
 *   and the sweep never race for one.
 * - Attachments of deleted messages: a tombstone carries none, so their bytes go too.
 *
 * Objects go before records: a failure leaves the record, and the next sweep tries again (an
 * object that is already gone is not an error). The record is deleted only while no message
 * carries it.
 */
import type { Settings } from '#config/settings';
import { objectKeysOf } from '#core/attachments';
import type { Attachment } from '#core/model';
import type { AttachmentStore, Clock, Logger, Metrics, ObjectStorage } from '#core/ports';

/** Attachments one batch handles, and batches one run makes at most (the next run takes the rest). */
export const SWEEP_BATCH = 200;
export const SWEEP_BATCHES_PER_RUN = 10;
/** How much older than CHAT_ATTACHMENT_ORPHAN_HOURS an orphan is before the sweep takes it. */
export const SWEEP_MARGIN_MS = 10 * 60 * 1000;

/** Only attachments created after this may be claimed by a send now (see the module's comment). */
export function claimableAfter(now: Date, limits: Pick<Settings, 'CHAT_ATTACHMENT_ORPHAN_HOURS'>): Date {
  return new Date(now.getTime() - limits.CHAT_ATTACHMENT_ORPHAN_HOURS * 3600_000);
}

export interface SweepAttachmentsDeps {
  attachments: Pick<AttachmentStore, 'orphans' | 'ofDeletedMessages' | 'removeUnclaimed'>;
  storage: Pick<ObjectStorage, 'remove'>;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  limits: Pick<Settings, 'CHAT_ATTACHMENT_ORPHAN_HOURS'>;
}

export type SweepResult = Record<string, number> & {
  /** Unclaimed uploads deleted. */
  orphans: number;
  /** Attachments of deleted messages deleted. */
  ofDeletedMessages: number;
};

export function makeSweepAttachments({ attachments, storage, clock, metrics, logger, limits }: SweepAttachmentsDeps) {
  async function sweep(next: () => Promise<Attachment[]>): Promise<number> {
    let removed = 0;
    for (let batch = 0; batch < SWEEP_BATCHES_PER_RUN; batch++) {
      const found = await next();
      if (found.length === 0) break;
      await storage.remove(found.flatMap((attachment) => objectKeysOf(attachment)));
      removed += (await attachments.removeUnclaimed(found.map((attachment) => attachment.id))).length;
      if (found.length < SWEEP_BATCH) break;
    }
    return removed;
  }

  return async (): Promise<SweepResult> => {
    const before = new Date(claimableAfter(clock.now(), limits).getTime() - SWEEP_MARGIN_MS);
    const orphans = await sweep(() => attachments.orphans(before, SWEEP_BATCH));
    const ofDeletedMessages = await sweep(() => attachments.ofDeletedMessages(SWEEP_BATCH));
    const total = orphans + ofDeletedMessages;
    if (total > 0) metrics.count('AttachmentsSwept', total);
    logger.info('Swept attachments', { orphans, ofDeletedMessages, before: before.toISOString() });
    return { orphans, ofDeletedMessages };
  };
}
