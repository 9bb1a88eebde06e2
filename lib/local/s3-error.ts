/**
 * S3's error answers: `<Error><Code>…</Code><Message>…</Message>…</Error>` with S3's HTTP status,
 * so `@aws-sdk/client-s3` throws its own classes (NoSuchKey, NoSuchBucket, …) and browsers see
 * what S3 would send them. Extra elements (Key, BucketName, ProposedSize, …) are S3's own.
 */

export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Further elements of the `<Error>` document, in order. */
    readonly details: Record<string, string | number> = {},
  ) {
    super(message);
  }
}

export const escapeXml = (text: string) =>
  text.replace(/[&<>"']/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[character]!);

export const element = (name: string, content: string | number) => `<${name}>${typeof content === 'number' ? content : escapeXml(content)}</${name}>`;

export const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function errorXml(error: S3Error, requestId: string, hostId: string): string {
  const details = Object.entries(error.details).map(([name, value]) => element(name, value));
  return `${XML_HEADER}<Error>${element('Code', error.code)}${element('Message', error.message)}${details.join('')}${element('RequestId', requestId)}${element('HostId', hostId)}</Error>`;
}

export const accessDenied = (message = 'Access Denied', details: Record<string, string | number> = {}) => new S3Error(403, 'AccessDenied', message, details);
export const invalidArgument = (message: string, name: string, value?: string) =>
  new S3Error(400, 'InvalidArgument', message, { ArgumentName: name, ...(value === undefined ? {} : { ArgumentValue: value }) });
export const invalidRequest = (message: string) => new S3Error(400, 'InvalidRequest', message);
