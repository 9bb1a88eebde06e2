/**
 * The SNS push sender against aws-sdk-client-mock: the endpoint life cycle AWS documents
 * (create, re-bind a token that moved, re-enable, recreate a deleted one), the per-platform
 * message structure, and disabled endpoints removing their device.
 */
import {
  CreatePlatformEndpointCommand,
  DeleteEndpointCommand,
  EndpointDisabledException,
  GetEndpointAttributesCommand,
  InvalidParameterException,
  PublishCommand,
  SetEndpointAttributesCommand,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSnsPushSender, messageKeyOf } from '#adapters/sns/push-sender';
import type { Device } from '#core/model';
import type { PushNotification } from '#core/push-notification';
import { RecordingLogger } from '#tests/support/fakes';

const sns = mockClient(SNSClient);
const client = new SNSClient({ region: 'eu-central-1' });
const APNS_APP = 'arn:aws:sns:eu-central-1:123456789012:app/APNS/chat-ios';
const FCM_APP = 'arn:aws:sns:eu-central-1:123456789012:app/GCM/chat-android';
const ENDPOINT = 'arn:aws:sns:eu-central-1:123456789012:endpoint/APNS/chat-ios/5f1c';

const device = (overrides: Partial<Device> = {}): Device => ({
  id: 'device-1',
  userId: 7,
  side: 'provider',
  partyId: 1,
  platform: 'apns',
  token: 'a1b2c3',
  appId: null,
  locale: null,
  endpointArn: null,
  createdAt: new Date(0),
  lastPushedAt: null,
  ...overrides,
});

const notification: PushNotification = {
  title: 'New message',
  body: 'Is 10:00 free?',
  badge: 3,
  data: { conversationId: 'c1', messageId: 'm1', seq: 9 },
  threadId: 'c1',
  richMedia: false,
};

const sender = () => makeSnsPushSender({ client, applications: { apns: APNS_APP, fcm: FCM_APP }, logger: new RecordingLogger() });
const published = () => sns.commandCalls(PublishCommand).map((call) => call.args[0].input);

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
  sns.on(GetEndpointAttributesCommand).resolves({ Attributes: { Enabled: 'true', Token: 'a1b2c3' } });
});
afterEach(() => sns.reset());

describe('the SNS push sender', () => {
  it("creates the device's endpoint on its first push and publishes the APNs payload with its headers", async () => {
    sns.on(CreatePlatformEndpointCommand).resolves({ EndpointArn: ENDPOINT });
    expect(await sender().send(device(), notification)).toEqual({ status: 'sent', endpointArn: ENDPOINT });
    expect(sns.commandCalls(CreatePlatformEndpointCommand)[0]!.args[0].input).toEqual({
      PlatformApplicationArn: APNS_APP,
      Token: 'a1b2c3',
      CustomUserData: JSON.stringify({ deviceId: 'device-1', userId: 7 }),
    });
    const [publish] = published();
    expect(publish).toMatchObject({ TargetArn: ENDPOINT, MessageStructure: 'json' });
    const message = JSON.parse(publish!.Message!);
    expect(message.default).toBe('Is 10:00 free?');
    expect(JSON.parse(message.APNS)).toEqual({
      aps: { alert: { title: 'New message', body: 'Is 10:00 free?' }, badge: 3, sound: 'default', 'thread-id': 'c1' },
      conversationId: 'c1',
      messageId: 'm1',
      seq: 9,
    });
    expect(publish!.MessageAttributes!['AWS.SNS.MOBILE.APNS.COLLAPSE_ID']).toEqual({ DataType: 'String', StringValue: 'c1' });
  });

  it('publishes an FCM v1 message under GCM to a device that has its endpoint already', async () => {
    const endpoint = 'arn:aws:sns:eu-central-1:123456789012:endpoint/GCM/chat-android/77';
    await sender().send(device({ platform: 'fcm', endpointArn: endpoint }), notification);
    expect(sns.commandCalls(CreatePlatformEndpointCommand)).toHaveLength(0);
    const message = JSON.parse(published()[0]!.Message!);
    expect(JSON.parse(message.GCM)).toEqual({
      fcmV1Message: {
        validate_only: false,
        message: {
          notification: { title: 'New message', body: 'Is 10:00 free?' },
          data: { conversationId: 'c1', messageId: 'm1', seq: '9', badge: '3' },
          android: { priority: 'high', collapse_key: 'c1', notification: { tag: 'c1', notification_count: 3, sound: 'default' } },
        },
      },
    });
    expect(published()[0]!.MessageAttributes).toBeUndefined();
  });

  it('re-binds the endpoint of a token that moved to another user, as SNS asks', async () => {
    sns.on(CreatePlatformEndpointCommand).rejects(
      new InvalidParameterException({ message: `Invalid parameter: Token Reason: Endpoint ${ENDPOINT} already exists with the same Token, but different attributes.`, $metadata: {} }),
    );
    expect(await sender().send(device({ userId: 8 }), notification)).toEqual({ status: 'sent', endpointArn: ENDPOINT });
    expect(sns.commandCalls(SetEndpointAttributesCommand)[0]!.args[0].input).toEqual({
      EndpointArn: ENDPOINT,
      Attributes: { Token: 'a1b2c3', CustomUserData: JSON.stringify({ deviceId: 'device-1', userId: 8 }), Enabled: 'true' },
    });
  });

  it('enables an existing endpoint that an earlier failure disabled', async () => {
    sns.on(CreatePlatformEndpointCommand).resolves({ EndpointArn: ENDPOINT });
    sns.on(GetEndpointAttributesCommand).resolves({ Attributes: { Enabled: 'false', Token: 'a1b2c3' } });
    await sender().send(device(), notification);
    expect(sns.commandCalls(SetEndpointAttributesCommand)[0]!.args[0].input.Attributes).toMatchObject({ Enabled: 'true' });
  });

  it('reports a disabled endpoint gone and deletes it', async () => {
    sns.on(PublishCommand).rejects(new EndpointDisabledException({ message: 'Endpoint is disabled', $metadata: {} }));
    sns.on(DeleteEndpointCommand).resolves({});
    expect(await sender().send(device({ endpointArn: ENDPOINT }), notification)).toEqual({ status: 'gone', reason: expect.stringContaining('disabled') });
    expect(sns.commandCalls(DeleteEndpointCommand)[0]!.args[0].input).toEqual({ EndpointArn: ENDPOINT });
  });

  it('makes the endpoint again when it was deleted behind its back, once', async () => {
    const fresh = `${ENDPOINT}-new`;
    sns.on(PublishCommand, { TargetArn: ENDPOINT }).rejects(new InvalidParameterException({ message: 'Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified', $metadata: {} }));
    sns.on(PublishCommand, { TargetArn: fresh }).resolves({ MessageId: 'sns-2' });
    sns.on(CreatePlatformEndpointCommand).resolves({ EndpointArn: fresh });
    sns.on(GetEndpointAttributesCommand).resolves({ Attributes: { Enabled: 'true', Token: 'a1b2c3' } });
    expect(await sender().send(device({ endpointArn: ENDPOINT }), notification)).toEqual({ status: 'sent', endpointArn: fresh });
  });

  it('throws what a later try can fix, so the queue delivers the message again', async () => {
    sns.on(PublishCommand).rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));
    await expect(sender().send(device({ endpointArn: ENDPOINT }), notification)).rejects.toBeInstanceOf(ThrottledException);
  });

  it('knows only the platforms it has an application for, and reads the platform from the ARN', () => {
    const apnsOnly = makeSnsPushSender({ client, applications: { apns: APNS_APP }, logger: new RecordingLogger() });
    expect([apnsOnly.configured('apns'), apnsOnly.configured('fcm')]).toEqual([true, false]);
    expect(messageKeyOf('arn:aws:sns:us-east-1:1:app/APNS_SANDBOX/dev')).toBe('APNS_SANDBOX');
    expect(() => messageKeyOf('arn:aws:sns:us-east-1:1:app/ADM/kindle')).toThrow(/not an APNS/);
  });
});
