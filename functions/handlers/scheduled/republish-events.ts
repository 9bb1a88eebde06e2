/** Scheduled: publishes again the changes whose after-commit event no consumer confirmed. */
import { scheduledHandler } from '#handlers/shared/scheduled';
import { useCases } from '#handlers/shared/use-cases';
import '#handlers/shared/ports/postgres';

export const handler = scheduledHandler(() => useCases().republishEvents());
