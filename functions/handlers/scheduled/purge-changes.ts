/** Scheduled: deletes change-log rows older than CHAT_SYNC_RETENTION_DAYS. */
import { scheduledHandler } from '#handlers/shared/scheduled';
import { useCase } from '#handlers/shared/use-cases';
import { makePurgeChanges } from '#core/use-cases/event-pipeline';
import '#handlers/shared/ports/postgres';

export const handler = scheduledHandler(() => useCase(makePurgeChanges)());
