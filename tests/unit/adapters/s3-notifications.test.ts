/**
 * The attachments queue's records as S3 writes them: keys decoded as S3 encodes them, S3's test
 * event and other event types ignored, anything else a poison record.
 */
import { describe, expect, it } from 'vitest';
import { createdKeys, decodeS3Key, s3NotificationSchema } from '#adapters/s3/notifications';

const record = (key: string, eventName = 'ObjectCreated:Post') => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: 'eu-central-1',
  eventTime: '2026-12-05T10:00:00.000Z',
  eventName,
  s3: { s3SchemaVersion: '1.0', configurationId: 'uploads', bucket: { name: 'b', arn: 'arn:aws:s3:::b' }, object: { key, size: 10, eTag: 'e', sequencer: '01' } },
});

describe('S3 notifications', () => {
  it('decodes keys as S3 encodes them: + is a space, then percent-decoding', () => {
    expect(decodeS3Key('uploads/c1/a1')).toBe('uploads/c1/a1');
    expect(decodeS3Key('uploads/my+file%2B1%C3%A4')).toBe('uploads/my file+1ä');
  });

  it('answers the created objects of every record, and none for other events', () => {
    const parsed = s3NotificationSchema.parse({ Records: [record('uploads/c1/a1'), record('uploads/c1/a2', 'ObjectCreated:Put'), record('uploads/c1/a3', 'ObjectRemoved:Delete')] });
    expect(createdKeys(parsed)).toEqual(['uploads/c1/a1', 'uploads/c1/a2']);
  });

  it("ignores S3's test event", () => {
    const parsed = s3NotificationSchema.parse({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-12-05T10:00:00.000Z', Bucket: 'b', RequestId: 'r', HostId: 'h' });
    expect(createdKeys(parsed)).toEqual([]);
  });

  it('refuses anything else (a poison record)', () => {
    expect(s3NotificationSchema.safeParse({ Records: [{ eventName: 'ObjectCreated:Post' }] }).success).toBe(false);
    expect(s3NotificationSchema.safeParse({ hello: 'world' }).success).toBe(false);
  });
});
