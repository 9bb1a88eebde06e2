/**
 * Scheduled: deletes the objects, then the records, of uploads no message claimed within
 * CHAT_ATTACHMENT_ORPHAN_HOURS and of attachments whose message was deleted.
 */
import { scheduledHandler } from '#handlers/shared/scheduled';
import { useCase } from '#handlers/shared/use-cases';
import { makeSweepAttachments } from '#core/use-cases/sweep-attachments';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/storage';

export const handler = scheduledHandler(() => useCase(makeSweepAttachments)());
