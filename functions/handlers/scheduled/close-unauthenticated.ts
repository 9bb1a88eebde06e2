/** Scheduled: closes bare WebSocket connections past their authentication deadline. */
import { scheduledHandler } from '#handlers/shared/scheduled';
import { useCase } from '#handlers/shared/use-cases';
import { makeCloseUnauthenticated } from '#core/use-cases/close-unauthenticated';
import '#handlers/shared/ports/realtime';

export const handler = scheduledHandler(async () => ({ closed: (await useCase(makeCloseUnauthenticated)()).closed.length }));
