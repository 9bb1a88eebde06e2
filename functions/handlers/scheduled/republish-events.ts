/** Scheduled: publishes again the changes whose after-commit event no consumer confirmed. */
import { scheduledHandler } from '#handlers/shared/scheduled';
import { useCase } from '#handlers/shared/use-cases';
import { makeRepublishEvents } from '#core/use-cases/event-pipeline';
import '#handlers/shared/ports/postgres';

export const handler = scheduledHandler(() => useCase(makeRepublishEvents)());
