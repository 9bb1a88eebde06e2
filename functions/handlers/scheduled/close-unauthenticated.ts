/** Scheduled: closes bare WebSocket connections past their authentication deadline. */
import { scheduledHandler } from '#handlers/shared/scheduled';
import { useCases } from '#handlers/shared/use-cases';
import '#handlers/shared/ports/realtime';

export const handler = scheduledHandler(async () => ({ closed: (await useCases().closeUnauthenticated()).closed.length }));
