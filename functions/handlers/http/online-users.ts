/** GET /online-users: online users who share a conversation with the caller (every online user for an admin). */
import { authorizedHttpHandler } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeOnlineUsers } from '#core/use-cases/online-users';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = authorizedHttpHandler({}, async ({ identity }) => ({
  status: 200,
  body: await useCase(makeOnlineUsers)({ identity }),
}));
