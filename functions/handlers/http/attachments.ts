/**
 * Attachments: POST …/attachments is the upload intent (201: a PENDING attachment and the
 * presigned POST to upload its file with), GET …/attachments/:attachmentId reads one, and
 * GET …/attachments/:attachmentId/content redirects (302) to a short-lived signed URL of its
 * original or thumbnail. The bytes never pass through here.
 */
import { authorizedHttpHandler, routeHandlers } from '#handlers/shared/http';
import { useCase } from '#handlers/shared/use-cases';
import { makeCreateAttachment } from '#core/use-cases/create-attachment';
import { makeAttachmentContent, makeGetAttachment } from '#core/use-cases/get-attachment';
import { attachmentContentQuery, attachmentIdParam, conversationIdParam, createAttachmentBody } from '#core/protocol';
import '#handlers/shared/ports/postgres';
import '#handlers/shared/ports/storage';

export const handler = routeHandlers({
  createAttachment: authorizedHttpHandler({ params: conversationIdParam, body: createAttachmentBody }, async ({ identity, params, body }) => ({
    status: 201,
    body: await useCase(makeCreateAttachment)({ identity, conversationId: params.conversationId, ...body }),
  })),
  getAttachment: authorizedHttpHandler({ params: attachmentIdParam }, async ({ identity, params }) => ({
    status: 200,
    body: await useCase(makeGetAttachment)({ identity, ...params }),
  })),
  getAttachmentContent: authorizedHttpHandler({ params: attachmentIdParam, query: attachmentContentQuery }, async ({ identity, params, query }) => {
    const { location, expiresInSeconds } = await useCase(makeAttachmentContent)({ identity, ...params, variant: query.variant });
    // The signed URL itself expires; the redirect must not outlive it in a cache.
    return { status: 302, headers: { location, 'cache-control': `private, max-age=${Math.max(0, expiresInSeconds - 30)}` } };
  }),
});
