/**
 * The PushSender port over Amazon SNS mobile push: one platform application per platform (APNs
 * or APNs sandbox, FCM), one platform endpoint per device token, made on the device's first push
 * and kept on the device, and one `Publish` per push with a per-platform JSON message.
 *
 * Endpoints follow AWS's documented life cycle: `CreatePlatformEndpoint` is idempotent for the
 * same token and attributes; when SNS answers that the token already has an endpoint with other
 * attributes (the token moved to another user), that endpoint is re-bound with
 * `SetEndpointAttributes`; a disabled endpoint (APNs or FCM said the token is dead) is deleted
 * and so is its device. Throttling and outages are retried by the SDK (exponential backoff with
 * jitter), then thrown, so the queue delivers the message again later.
 */
import {
  CreatePlatformEndpointCommand,
  DeleteEndpointCommand,
  EndpointDisabledException,
  GetEndpointAttributesCommand,
  InvalidParameterException,
  NotFoundException,
  PublishCommand,
  SetEndpointAttributesCommand,
  SNSClient,
  type MessageAttributeValue,
} from '@aws-sdk/client-sns';
import type { Settings } from '#config/settings';
import type { Device, PushPlatform } from '#core/model';
import type { Logger, PushResult, PushSender } from '#core/ports';
import { apnsHeaders, apnsPayload, fcmMessage, type PushNotification } from '#core/push-notification';

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** An SNSClient for the settings' region, pointed at SNS_ENDPOINT when it is set (local only). */
export function createSnsClient(settings: Pick<Settings, 'AWS_REGION' | 'SNS_ENDPOINT'>): SNSClient {
  const endpoint = settings.SNS_ENDPOINT;
  return new SNSClient({ region: settings.AWS_REGION, ...(endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {}) });
}

/** The platform application ARN per platform; a platform without one is not pushed to. */
export type PushApplications = Partial<Record<PushPlatform, string>>;

/** The key of SNS's message structure for an application: APNS, APNS_SANDBOX or GCM (FCM). */
export function messageKeyOf(applicationArn: string): 'APNS' | 'APNS_SANDBOX' | 'GCM' {
  const platform = /:app\/([A-Z_]+)\//.exec(applicationArn)?.[1];
  if (platform === 'APNS' || platform === 'APNS_SANDBOX' || platform === 'GCM') return platform;
  throw new Error(`${applicationArn} is not an APNS, APNS_SANDBOX or GCM platform application`);
}

/** The `Message` of a `Publish` with `MessageStructure: json`: `default` and the platform's own payload, each a string. */
export function snsMessage(key: 'APNS' | 'APNS_SANDBOX' | 'GCM', notification: PushNotification): string {
  const payload = key === 'GCM' ? { fcmV1Message: { validate_only: false, message: fcmMessage(notification) } } : apnsPayload(notification);
  return JSON.stringify({ default: notification.body, [key]: JSON.stringify(payload) });
}

/** SNS's reserved message attributes that become APNs request headers. */
function apnsAttributes(notification: PushNotification): Record<string, MessageAttributeValue> {
  const headers = apnsHeaders(notification);
  const attribute = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  return {
    'AWS.SNS.MOBILE.APNS.COLLAPSE_ID': attribute(headers['apns-collapse-id']),
    'AWS.SNS.MOBILE.APNS.PUSH_TYPE': attribute(headers['apns-push-type']),
    'AWS.SNS.MOBILE.APNS.PRIORITY': attribute(headers['apns-priority']),
  };
}

/** What an endpoint's CustomUserData says about its device (shown in the SNS console and the local push log). */
export const endpointUserData = (device: Pick<Device, 'id' | 'userId'>) => JSON.stringify({ deviceId: device.id, userId: device.userId });

const EXISTING_ENDPOINT = /Endpoint (arn:aws[\w-]*:sns:\S+) already exists with the same [Tt]oken/;
const NO_ENDPOINT = /No endpoint found|does not exist/i;

export function makeSnsPushSender({ client, applications, logger }: { client: SNSClient; applications: PushApplications; logger: Logger }): PushSender {
  const applicationOf = (platform: PushPlatform) => {
    const arn = applications[platform];
    if (!arn) throw new Error(`No push application is configured for ${platform}`);
    return arn;
  };

  /** The device's endpoint, made (or re-bound to this device) and enabled. */
  async function bindEndpoint(device: Device): Promise<string> {
    const attributes = { Token: device.token, CustomUserData: endpointUserData(device) };
    let arn: string;
    try {
      const created = await client.send(
        new CreatePlatformEndpointCommand({ PlatformApplicationArn: applicationOf(device.platform), Token: device.token, CustomUserData: attributes.CustomUserData }),
      );
      arn = created.EndpointArn!;
    } catch (error) {
      const existing = error instanceof InvalidParameterException ? EXISTING_ENDPOINT.exec(error.message)?.[1] : undefined;
      if (!existing) throw error;
      await client.send(new SetEndpointAttributesCommand({ EndpointArn: existing, Attributes: { ...attributes, Enabled: 'true' } }));
      return existing;
    }
    // An endpoint that already existed comes back as it was, possibly disabled by an earlier failure.
    const { Attributes } = await client.send(new GetEndpointAttributesCommand({ EndpointArn: arn }));
    if (Attributes?.Enabled !== 'true' || Attributes?.Token !== device.token) {
      await client.send(new SetEndpointAttributesCommand({ EndpointArn: arn, Attributes: { ...attributes, Enabled: 'true' } }));
    }
    return arn;
  }

  async function publish(device: Device, endpointArn: string, notification: PushNotification): Promise<void> {
    const key = messageKeyOf(applicationOf(device.platform));
    await client.send(
      new PublishCommand({
        TargetArn: endpointArn,
        MessageStructure: 'json',
        Message: snsMessage(key, notification),
        ...(key === 'GCM' ? {} : { MessageAttributes: apnsAttributes(notification) }),
      }),
    );
  }

  async function removeEndpoint(endpointArn: string): Promise<void> {
    try {
      await client.send(new DeleteEndpointCommand({ EndpointArn: endpointArn }));
    } catch (error) {
      // The device goes either way; a leftover endpoint is disabled and costs nothing.
      logger.warn('Could not delete a disabled SNS endpoint', { endpointArn, error: String(error) });
    }
  }

  return {
    configured: (platform) => Boolean(applications[platform]),

    async send(device, notification): Promise<PushResult> {
      let endpointArn = device.endpointArn ?? (await bindEndpoint(device));
      for (let attempt = 1; ; attempt++) {
        try {
          await publish(device, endpointArn, notification);
          return { status: 'sent', endpointArn };
        } catch (error) {
          if (error instanceof EndpointDisabledException) {
            await removeEndpoint(endpointArn);
            return { status: 'gone', reason: 'the push service disabled the endpoint (the token is invalid or unregistered)' };
          }
          const endpointMissing = error instanceof NotFoundException || (error instanceof InvalidParameterException && NO_ENDPOINT.test(error.message));
          // Someone deleted the endpoint (in the console, or another token's cleanup): make it again, once.
          if (endpointMissing && attempt === 1 && device.endpointArn) {
            endpointArn = await bindEndpoint(device);
            continue;
          }
          throw error;
        }
      }
    },
  };
}
