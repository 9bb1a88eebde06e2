/**
 * The attachments bucket's grants, one per FunctionAccess.attachments level, each scoped to the
 * key prefixes of functions/core/attachments.ts that the level touches, and none may read what it
 * only deletes. Only the processor may list the bucket: without s3:ListBucket, S3 answers a read
 * of a missing key 403 AccessDenied instead of 404 NoSuchKey, and the processor must tell an
 * upload that is gone (expired, or already processed by a repeated notification: nothing to
 * retry) from a refusal (retried, then dead-lettered). The keys it could list hold only ids it
 * reads from Postgres anyway. Every other key is derived from an attachment record.
 */
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { FILES_PREFIX, UPLOAD_PREFIX } from '#core/attachments';
import { nagResource } from '#lib/constructs/nag';
import type { FunctionAccess } from '#lib/stacks/function-access';
import type { ChatFunction } from './chat-function.ts';

export type AttachmentsAccess = NonNullable<FunctionAccess['attachments']>;

/** What each level may do, and under which prefix. */
export const ATTACHMENTS_GRANTS: Record<AttachmentsAccess, readonly { actions: readonly string[]; prefixes: readonly string[] | 'bucket'; why: string }[]> = {
  // The presigned POST and GET are signed with the function's role: S3 checks the role's rights
  // when the app uses them, so the role needs exactly what the app is let do.
  sign: [
    { actions: ['s3:PutObject'], prefixes: [UPLOAD_PREFIX], why: 'presigned POSTs of uploads under uploads/<conversationId>/<attachmentId>' },
    { actions: ['s3:GetObject'], prefixes: [FILES_PREFIX], why: 'presigned GETs of what processing kept under files/' },
  ],
  // Reads the upload and deletes it once processed; writes the original and the thumbnail.
  process: [
    { actions: ['s3:GetObject', 's3:DeleteObject'], prefixes: [UPLOAD_PREFIX], why: 'reads each upload and deletes it once processed' },
    { actions: ['s3:PutObject'], prefixes: [FILES_PREFIX], why: 'writes the original and the thumbnail under files/' },
    { actions: ['s3:ListBucket'], prefixes: 'bucket', why: 'a missing upload reads as 404, not 403' },
  ],
  // Deletes the objects of attachments no message claimed, and of deleted messages.
  sweep: [{ actions: ['s3:DeleteObject'], prefixes: [UPLOAD_PREFIX, FILES_PREFIX], why: 'deletes the objects of orphaned and tombstoned attachments' }],
};

/**
 * Gives a function the attachments bucket: its name in ATTACHMENTS_BUCKET and the level's
 * object actions on the level's prefixes only.
 */
export function bindAttachmentsBucket(chatFunction: ChatFunction, bucket: IBucket, access: AttachmentsAccess): void {
  chatFunction.addEnvironment('ATTACHMENTS_BUCKET', bucket.bucketName);
  for (const grant of ATTACHMENTS_GRANTS[access]) {
    if (grant.prefixes === 'bucket') {
      chatFunction.function.addToRolePolicy(new iam.PolicyStatement({ actions: [...grant.actions], resources: [bucket.bucketArn] }));
      continue;
    }
    const resources = grant.prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`));
    chatFunction.function.addToRolePolicy(new iam.PolicyStatement({ actions: [...grant.actions], resources }));
    for (const resource of resources) {
      Validations.of(chatFunction).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(chatFunction, resource)}]`,
        reason: `Object keys carry attachment ids made at run time; ${grant.actions.join(' and ')} on one prefix of the attachments bucket only: ${grant.why}.`,
      });
    }
  }
}
