/**
 * The caller's devices: POST /devices registers a push token (201 new or moved to the caller,
 * 200 already theirs), GET /devices lists them (tokens shown by their last characters only),
 * DELETE /devices/:deviceId forgets one.
 */
import { authorizedHttpHandler, routeHandlers } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeDeleteDevice, makeListDevices, makeRegisterDevice } from '#core/use-cases/devices';
import { deviceIdParam, registerDeviceBody } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/realtime';

export const handler = routeHandlers({
  registerDevice: authorizedHttpHandler({ body: registerDeviceBody }, async ({ identity, body }) => {
    const { device, created } = await useCase(makeRegisterDevice)({ identity, ...body });
    return { status: created ? 201 : 200, body: { device } };
  }),
  listDevices: authorizedHttpHandler({}, async ({ identity }) => ({ status: 200, body: await useCase(makeListDevices)({ identity }) })),
  deleteDevice: authorizedHttpHandler({ params: deviceIdParam }, async ({ identity, params }) => {
    await useCase(makeDeleteDevice)({ identity, deviceId: params.deviceId });
    return { status: 204 };
  }),
});
