/**
 * The policy of S3's browser POST upload, as S3 evaluates it
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html):
 * `expiration`, then every condition (`{field: value}` and `["eq", "$field", value]` exact,
 * `["starts-with", "$field", prefix]`, `["content-length-range", min, max]`), with field names
 * compared case-insensitively, and S3's rule that every form field but the policy, the signature,
 * the file and `x-ignore-*` is covered by a condition.
 */
import { S3Error, accessDenied } from './s3-error.ts';

export type PolicyCondition =
  | { kind: 'eq' | 'starts-with'; field: string; value: string; text: string }
  | { kind: 'content-length-range'; min: number; max: number; text: string };

export interface PostPolicy {
  expiration: number;
  conditions: PolicyCondition[];
}

const invalidPolicy = (why: string) => new S3Error(400, 'InvalidPolicyDocument', `Invalid Policy: ${why}`);

/** How S3 quotes a condition in "Policy Condition failed: […]". */
const quote = (parts: (string | number)[]) => `[${parts.map((part) => (typeof part === 'number' ? String(part) : JSON.stringify(part))).join(', ')}]`;

/** Decodes and checks the shape of a base64 policy document. */
export function parsePolicy(base64: string): PostPolicy {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw invalidPolicy('Invalid JSON.');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw invalidPolicy('Invalid JSON.');
  const { expiration, conditions } = document as { expiration?: unknown; conditions?: unknown };
  if (expiration === undefined) throw invalidPolicy('Policy missing expiration.');
  const expires = typeof expiration === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(expiration) ? Date.parse(expiration) : Number.NaN;
  if (Number.isNaN(expires)) throw invalidPolicy(`Invalid 'expiration' value: '${String(expiration)}'`);
  if (conditions === undefined) throw invalidPolicy('Policy missing conditions.');
  if (!Array.isArray(conditions)) throw invalidPolicy("Invalid 'conditions' value: must be a List.");
  return { expiration: expires, conditions: conditions.map(parseCondition) };
}

function parseCondition(condition: unknown): PolicyCondition {
  if (Array.isArray(condition)) {
    const [operator, field, value] = condition as unknown[];
    if (typeof operator !== 'string') throw invalidPolicy(`Invalid Condition: ${JSON.stringify(condition)}`);
    const op = operator.toLowerCase();
    if (op === 'content-length-range') {
      const min = Number(field);
      const max = Number(value);
      if (condition.length !== 3 || !Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
        throw invalidPolicy(`Invalid content-length-range condition: ${JSON.stringify(condition)}`);
      }
      return { kind: 'content-length-range', min, max, text: quote(['content-length-range', min, max]) };
    }
    if (op !== 'eq' && op !== 'starts-with') throw invalidPolicy(`Invalid Condition: unknown operator '${operator}'`);
    if (condition.length !== 3 || typeof field !== 'string' || !field.startsWith('$') || typeof value !== 'string') {
      throw invalidPolicy(`Invalid Condition: ${JSON.stringify(condition)}`);
    }
    return { kind: op, field: field.slice(1).toLowerCase(), value, text: quote([op, field, value]) };
  }
  if (typeof condition === 'object' && condition !== null) {
    const entries = Object.entries(condition);
    const [name, value] = entries[0] ?? [];
    if (entries.length !== 1 || typeof value !== 'string') throw invalidPolicy(`Invalid Condition: ${JSON.stringify(condition)}`);
    return { kind: 'eq', field: name!.toLowerCase(), value, text: quote(['eq', `$${name}`, value]) };
  }
  throw invalidPolicy(`Invalid Condition: ${JSON.stringify(condition)}`);
}

/** Fields a POST may carry without a condition. */
const exempt = (name: string) => ['policy', 'x-amz-signature', 'file'].includes(name) || name.startsWith('x-ignore-');

/**
 * Checks the policy against the form (`fields` by lower-case name; `bucket` is the URL's bucket)
 * and answers the allowed file sizes. Throws S3's AccessDenied "Invalid according to Policy: …".
 */
export function checkPolicy(policy: PostPolicy, fields: Map<string, string>, bucket: string, now: number): { min: number; max: number } {
  if (now > policy.expiration) throw accessDenied('Invalid according to Policy: Policy expired.');
  const failed = (condition: PolicyCondition) => accessDenied(`Invalid according to Policy: Policy Condition failed: ${condition.text}`);
  const valueOf = (field: string) => (field === 'bucket' ? bucket : (fields.get(field) ?? ''));
  const covered = new Set<string>();
  let min = 0;
  let max = Number.POSITIVE_INFINITY;
  for (const condition of policy.conditions) {
    if (condition.kind === 'content-length-range') {
      min = Math.max(min, condition.min);
      max = Math.min(max, condition.max);
      continue;
    }
    covered.add(condition.field);
    const value = valueOf(condition.field);
    if (condition.field === 'bucket' && fields.has('bucket') && fields.get('bucket') !== bucket) throw failed(condition);
    if (condition.kind === 'eq') {
      if (value !== condition.value) throw failed(condition);
    } else if (condition.field === 'content-type') {
      // S3: each of a comma-separated list of content types must start with the prefix.
      if (!value.split(',').every((type) => type.trim().startsWith(condition.value))) throw failed(condition);
    } else if (!value.startsWith(condition.value)) {
      throw failed(condition);
    }
  }
  const extra = [...fields.keys()].filter((name) => !exempt(name) && !covered.has(name));
  if (extra.length > 0) throw accessDenied(`Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);
  return { min, max };
}
