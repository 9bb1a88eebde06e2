/** Scheduled: deletes change-log rows older than CHAT_SYNC_RETENTION_DAYS. */
import { scheduledHandler } from '#handlers/shared/scheduled';
import { useCases } from '#handlers/shared/use-cases';
import '#handlers/shared/ports/postgres';

export const handler = scheduledHandler(() => useCases().purgeChanges());
