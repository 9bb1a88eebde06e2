/**
 * Attachment upload: the upload intent (`POST …/attachments`: what the app is about to upload),
 * then the file straight to storage through the presigned POST it answers — multipart/form-data
 * with every field of `upload.fields`, in order, then `file` — and the attachment it describes.
 * The attachment is PENDING until the server has checked the upload; `attachment` events tell
 * when it is READY (send it in a message's `attachments`) or REJECTED.
 */
import { ChatError } from './errors.ts';
import type { Attachment } from './protocol.ts';
import type { FetchLike, RestApi } from './rest.ts';

/** What the upload needs of a file: a `Blob` (browsers, Node) or React Native's `{uri, name, type}` object, with its size. */
export interface BlobLike {
  readonly size: number;
}

/** What the upload needs of `FormData`: the platform's own fits. */
export interface FormDataLike {
  append(name: string, value: string | BlobLike, fileName?: string): void;
}
export type FormDataConstructor = new () => FormDataLike;

export interface UploadOptions {
  /** As the other side sees it. */
  fileName: string;
  /** One of the API's accepted types (`CHAT_ATTACHMENT_TYPES`); the storage refuses an upload declaring another. */
  contentType: string;
}

export interface UploadDeps {
  api: RestApi;
  fetch: FetchLike;
  FormData?: FormDataConstructor;
}

export async function uploadAttachment(deps: UploadDeps, conversationId: string, file: BlobLike, options: UploadOptions): Promise<Attachment> {
  const FormDataImpl = deps.FormData ?? (globalThis as { FormData?: FormDataConstructor }).FormData;
  if (!FormDataImpl) throw new TypeError('No FormData implementation: pass options.FormData');
  const { attachment, upload } = await deps.api.createAttachment({
    params: { conversationId },
    body: { fileName: options.fileName, contentType: options.contentType, size: file.size },
  });
  const form = new FormDataImpl();
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  form.append('file', file, options.fileName);
  let response: Awaited<ReturnType<FetchLike>>;
  try {
    // No content-type of ours: fetch sets multipart/form-data with its boundary.
    // The same fetch as the REST calls', with a FormData body (every platform's fetch takes one).
    const post = deps.fetch as unknown as (url: string, init: { method: string; headers: Record<string, string>; body: FormDataLike }) => ReturnType<FetchLike>;
    response = await post(upload.url, { method: 'POST', headers: {}, body: form });
  } catch (error) {
    throw new ChatError('NETWORK', `upload: ${(error as Error)?.message ?? String(error)}`);
  }
  if (response.status >= 300) {
    const text = await response.text().catch(() => '');
    // The storage's own XML error: <Code>EntityTooLarge</Code>, AccessDenied (past expiresAt, or a policy not met)…
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
    throw new ChatError('UPLOAD_REFUSED', `The storage refused the upload (${response.status}${code ? ` ${code}` : ''})`, { status: response.status, code }, response.status);
  }
  return attachment;
}
