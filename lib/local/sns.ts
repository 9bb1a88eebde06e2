/**
 * A local Amazon SNS for mobile push: platform applications, platform endpoints and direct
 * publishing to an endpoint, in the AWS Query protocol (form-encoded `Action=…&Version=2010-03-31`
 * POSTs, XML answers) that `@aws-sdk/client-sns` v3 speaks, so push code runs unchanged against it.
 *
 * What matters for apps is emulated as SNS documents it: endpoint ARNs, the idempotent
 * CreatePlatformEndpoint and its "already exists with the same Token, but different attributes"
 * error (whose message carries the ARN apps parse), Enabled, Token re-keying, MessageStructure=json
 * with the platform's own key or `default`, the 256 KB limit and the exact error codes. Nothing is
 * delivered: every publish is recorded for tests (`published()`). Topics, subscriptions and SMS are
 * not emulated (publishing to a TopicArn or PhoneNumber is refused). See lib/local/README.md.
 *
 * Any credentials are accepted (signatures are not checked), and platform credentials are neither
 * required nor checked with Apple or Google. State lives in memory only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { EmulatorLog } from './log.ts';
import { BodyTooLarge, closeServer, listen, readBody, trackSockets } from './net.ts';

export type PushPlatform = 'APNS' | 'APNS_SANDBOX' | 'GCM';

export interface SnsEmulatorOptions {
  /** Interface to bind; 127.0.0.1 by default. */
  host?: string;
  /** 0 (the default) for any free port. */
  port?: number;
  /** For ARNs; us-east-1 by default. */
  region?: string;
  /** For ARNs; 000000000000 by default. */
  accountId?: string;
  /** Where malformed requests (info) and internal failures (error) are reported. */
  log?: EmulatorLog;
}

/** One Publish to an endpoint, as the platform (APNs, FCM) would have received it. */
export interface PublishedPush {
  messageId: string;
  /** The endpoint ARN. */
  targetArn: string;
  platform: PushPlatform;
  /** The endpoint's Token at publish time. */
  token: string;
  customUserData: string | undefined;
  /** The message the platform would receive: the platform's own key of a MessageStructure=json message, else the plain Message. */
  message: string;
  /** Name → StringValue (BinaryValue in base64 for Binary attributes). */
  messageAttributes: Record<string, string>;
  at: Date;
}

export interface SnsEmulator {
  /** The endpoint for SNSClient: `http://127.0.0.1:<port>`. */
  endpoint: string;
  port: number;
  /** ARN of a platform application, creating it if missing (so the runtime can configure apps without the SDK). */
  platformApplication(name: string, platform: PushPlatform): string;
  /** Every publish, in publish order. */
  published(): PublishedPush[];
  /** Every endpoint with its attributes (Token, Enabled, CustomUserData). */
  endpoints(): { arn: string; applicationArn: string; attributes: Record<string, string> }[];
  /** Closes the server and its connections. */
  stop(): Promise<void>;
}

// ─── Limits (AWS's documented quotas) ───────────────────────────────────────────────────────

/** Publish: message and message attributes together, 256 KB. */
export const MAX_MESSAGE_BYTES = 262_144;
/** CustomUserData: "must be in UTF-8 format and less than 2KB". */
const MAX_CUSTOM_USER_DATA_BYTES = 2048;
const MAX_MESSAGE_ATTRIBUTES = 10;
/** Form encoding can triple a message's size. */
const MAX_REQUEST_BYTES = 4 * MAX_MESSAGE_BYTES;
const API_VERSION = '2010-03-31';
const XML_NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';
/** "Application names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, hyphens, and periods, and must be between 1 and 256 characters long." */
const APPLICATION_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const PLATFORMS: readonly PushPlatform[] = ['APNS', 'APNS_SANDBOX', 'GCM'];
/** Platforms SNS has that this emulator does not. */
const OTHER_PLATFORMS = ['ADM', 'BAIDU', 'WNS', 'MPNS'];
const ENDPOINT_ATTRIBUTES = ['Token', 'Enabled', 'CustomUserData'];
/** SNS pages ListPlatformApplications by 15 and ListEndpointsByPlatformApplication by 100. */
const APPLICATIONS_PAGE = 15;
const ENDPOINTS_PAGE = 100;
/** Platform application attributes GetPlatformApplicationAttributes does not give back (secrets). */
const HIDDEN_APPLICATION_ATTRIBUTES = new Set(['PlatformCredential', 'PlatformPrincipal']);

// ─── Errors ───────────────────────────────────────────────────────────────────────────────

/** Query error codes and their HTTP status: the SDK maps `<Code>` to its exception class (InvalidParameter → InvalidParameterException, …). */
const ERRORS = {
  InvalidParameter: 400,
  NotFound: 404,
  EndpointDisabled: 400,
  InvalidAction: 400,
  MissingAction: 400,
  MissingParameter: 400,
  NoSuchVersion: 400,
  MalformedQueryString: 400,
  RequestEntityTooLarge: 413,
  InternalError: 500,
} as const;

type ErrorCode = keyof typeof ERRORS;

/** An SNS error answer. */
class SnsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
  /** Errors of the request itself rather than of its parameters, reported on the log. */
  get protocolError(): boolean {
    return ['InvalidAction', 'MissingAction', 'MissingParameter', 'NoSuchVersion', 'MalformedQueryString', 'RequestEntityTooLarge'].includes(this.code);
  }
}

/** SNS's InvalidParameter wording: `Invalid parameter: <Name> Reason: <why>`. */
const invalid = (parameter: string, reason?: string) =>
  new SnsError('InvalidParameter', `Invalid parameter: ${parameter}${reason === undefined ? '' : ` Reason: ${reason}`}`);

// ─── Request parsing ────────────────────────────────────────────────────────────────────────

type Form = Map<string, string>;

/** Decodes an `application/x-www-form-urlencoded` body; a broken `%` escape is MalformedQueryString. */
function parseForm(raw: string): Form {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) throw new SnsError('MalformedQueryString', 'The request body has a malformed percent-encoding.');
  const form: Form = new Map();
  for (const [key, value] of new URLSearchParams(raw)) form.set(key, value);
  return form;
}

/** A required, non-empty string parameter. */
function required(form: Form, name: string): string {
  const value = form.get(name);
  if (value === undefined || value === '') throw invalid(name, 'cannot be empty');
  return value;
}

/** The numbered entries `<prefix>.entry.N.<field>` of a map parameter, in N order, as field → value. */
function entries(form: Form, prefix: string): Map<number, Map<string, string>> {
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.entry\\.(\\d+)\\.(.+)$`);
  const byIndex = new Map<number, Map<string, string>>();
  for (const [key, value] of form) {
    const match = pattern.exec(key);
    if (!match) continue;
    const index = Number(match[1]);
    if (!byIndex.has(index)) byIndex.set(index, new Map());
    byIndex.get(index)!.set(match[2]!, value);
  }
  return new Map([...byIndex].sort(([a], [b]) => a - b));
}

/** A string-to-string map parameter (`Attributes.entry.N.key` / `.value`). */
function stringMap(form: Form, prefix: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const fields of entries(form, prefix).values()) {
    const key = fields.get('key');
    const value = fields.get('value');
    if (key === undefined || value === undefined) throw invalid(prefix, 'every entry needs a key and a value');
    map[key] = value;
  }
  return map;
}

interface MessageAttribute {
  dataType: string;
  value: string;
}

/** Publish's `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` (or `.Value.BinaryValue`, base64). */
function messageAttributes(form: Form): Map<string, MessageAttribute> {
  const attributes = new Map<string, MessageAttribute>();
  for (const fields of entries(form, 'MessageAttributes').values()) {
    const name = fields.get('Name');
    const dataType = fields.get('Value.DataType');
    if (!name) throw invalid('MessageAttributes', 'every message attribute needs a Name');
    if (!dataType) throw invalid('MessageAttributes', `The message attribute '${name}' must contain a DataType.`);
    if (!/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw invalid('MessageAttributes', `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
    }
    const value = dataType.startsWith('Binary') ? fields.get('Value.BinaryValue') : fields.get('Value.StringValue');
    if (value === undefined || value === '') {
      throw invalid('MessageAttributes', `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`);
    }
    if (dataType.startsWith('Number') && !Number.isFinite(Number(value))) {
      throw invalid('MessageAttributes', `Could not cast message attribute '${name}' value to number.`);
    }
    attributes.set(name, { dataType, value });
  }
  if (attributes.size > MAX_MESSAGE_ATTRIBUTES) {
    throw invalid('MessageAttributes', `Number of message attributes [${attributes.size}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`);
  }
  return attributes;
}

/** An ARN's six parts; SNS refuses anything shorter with this wording. */
function arnParts(parameter: string, arn: string): string[] {
  const parts = arn.split(':');
  if (parts.length < 6) throw invalid(parameter, `An ARN must have at least 6 elements, not ${parts.length}`);
  return parts;
}

/** Offset of a NextToken (base64url of the offset), 0 without one. */
function pageStart(form: Form): number {
  const token = form.get('NextToken');
  if (token === undefined || token === '') return 0;
  const start = Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0) throw invalid('NextToken');
  return start;
}

/** One page of `items` and the NextToken of the next one, if any. */
function page<T>(items: T[], start: number, size: number): { items: T[]; nextToken: string | undefined } {
  const end = start + size;
  return { items: items.slice(start, end), nextToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined };
}

// ─── XML ──────────────────────────────────────────────────────────────────────────────────

const escapeXml = (text: string) =>
  text.replace(/[&<>"']/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[character]!);

const element = (name: string, content: string) => `<${name}>${content}</${name}>`;

/** A string map as SNS writes it: `<Attributes><entry><key>…</key><value>…</value></entry>…</Attributes>`. */
const attributesXml = (attributes: Record<string, string>) =>
  element('Attributes', Object.entries(attributes).map(([key, value]) => element('entry', element('key', escapeXml(key)) + element('value', escapeXml(value)))).join(''));

/** `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…` (no Result element for operations without output). */
function responseXml(action: string, result: string | undefined, requestId: string): string {
  return (
    `<?xml version="1.0"?>\n<${action}Response xmlns="${XML_NAMESPACE}">` +
    (result === undefined ? '' : element(`${action}Result`, result)) +
    element('ResponseMetadata', element('RequestId', requestId)) +
    `</${action}Response>`
  );
}

function errorXml(error: SnsError, requestId: string): string {
  const type = ERRORS[error.code] >= 500 ? 'Receiver' : 'Sender';
  return (
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${XML_NAMESPACE}">` +
    element('Error', element('Type', type) + element('Code', error.code) + element('Message', escapeXml(error.message))) +
    element('RequestId', requestId) +
    '</ErrorResponse>'
  );
}

// ─── State ──────────────────────────────────────────────────────────────────────────────────

interface Application {
  arn: string;
  name: string;
  platform: PushPlatform;
  attributes: Record<string, string>;
  /** Endpoint ARNs in creation order. */
  endpoints: Set<string>;
}

interface StoredEndpoint {
  arn: string;
  application: Application;
  token: string;
  enabled: boolean;
  customUserData: string | undefined;
}

/** An endpoint's attributes as GetEndpointAttributes answers them. */
function endpointAttributes(endpoint: StoredEndpoint): Record<string, string> {
  return {
    Enabled: String(endpoint.enabled),
    Token: endpoint.token,
    ...(endpoint.customUserData ? { CustomUserData: endpoint.customUserData } : {}),
  };
}

/** Checks endpoint attributes (names, Enabled's value, CustomUserData's size) and normalizes Enabled. */
function checkEndpointAttributes(attributes: Record<string, string>): Record<string, string> {
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (!ENDPOINT_ATTRIBUTES.includes(name)) throw invalid('Attributes', `Invalid attribute name: ${name}`);
    if (name === 'Enabled' && !/^(true|false)$/i.test(value)) throw invalid('Attributes', 'Enabled must be true or false');
    if (name === 'Token' && value === '') throw invalid('Token', 'cannot be empty');
    if (name === 'CustomUserData') checkCustomUserData(value);
    checked[name] = name === 'Enabled' ? value.toLowerCase() : value;
  }
  return checked;
}

function checkCustomUserData(value: string): void {
  if (Buffer.byteLength(value, 'utf8') > MAX_CUSTOM_USER_DATA_BYTES) {
    throw invalid('CustomUserData', `must be less than ${MAX_CUSTOM_USER_DATA_BYTES} bytes`);
  }
}

/**
 * What a platform receives of a Publish: the plain Message, or for MessageStructure=json the
 * platform's own key, else `default` (SNS's rules: a JSON object, a string `default`, string values).
 */
function platformMessage(message: string, structure: string | undefined, platform: PushPlatform): string {
  if (structure === undefined || structure === '') return message;
  if (structure !== 'json') throw invalid('MessageStructure', `Invalid value [${structure}], the only supported value is json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw invalid('Message Structure - JSON message body failed to parse');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !('default' in parsed)) {
    throw invalid('Message Structure - No default entry in JSON message body');
  }
  const values = parsed as Record<string, unknown>;
  if (Object.values(values).some((value) => typeof value !== 'string')) {
    throw invalid('Message Structure - JSON message body values must be strings (stringify each platform\'s payload)');
  }
  return (values[platform] ?? values.default) as string;
}

// ─── The server ─────────────────────────────────────────────────────────────────────────────

/** Starts the local SNS on `host:port` (a free port by default). */
export async function startSnsEmulator(options: SnsEmulatorOptions = {}): Promise<SnsEmulator> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const log = options.log;
  const applications = new Map<string, Application>();
  const endpoints = new Map<string, StoredEndpoint>();
  const published: PublishedPush[] = [];

  const arnPrefix = `arn:aws:sns:${region}:${accountId}:`;
  const applicationArnOf = (platform: PushPlatform, name: string) => `${arnPrefix}app/${platform}/${name}`;

  /** Creates the application, or returns the existing one with `attributes` applied. */
  function upsertApplication(name: string, platform: PushPlatform, attributes: Record<string, string>): Application {
    const arn = applicationArnOf(platform, name);
    const existing = applications.get(arn);
    if (existing) {
      Object.assign(existing.attributes, attributes);
      return existing;
    }
    const application: Application = { arn, name, platform, attributes: { ...attributes }, endpoints: new Set() };
    applications.set(arn, application);
    return application;
  }

  function checkApplicationName(name: string): void {
    if (!APPLICATION_NAME.test(name)) {
      throw invalid('Name', 'Application names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, hyphens, and periods, and must be between 1 and 256 characters long.');
    }
  }

  function checkPlatform(platform: string): PushPlatform {
    if ((PLATFORMS as readonly string[]).includes(platform)) return platform as PushPlatform;
    if (OTHER_PLATFORMS.includes(platform)) throw invalid('Platform', `${platform} is not emulated: the local SNS has APNS, APNS_SANDBOX and GCM only`);
    throw invalid('Platform', `Invalid platform: ${platform}`);
  }

  function applicationByArn(arn: string): Application {
    arnParts('PlatformApplicationArn', arn);
    const application = applications.get(arn);
    if (!application) throw new SnsError('NotFound', 'PlatformApplication does not exist');
    return application;
  }

  function endpointByArn(arn: string): StoredEndpoint {
    arnParts('EndpointArn', arn);
    const endpoint = endpoints.get(arn);
    if (!endpoint) throw new SnsError('NotFound', 'Endpoint does not exist');
    return endpoint;
  }

  function deleteEndpoint(endpoint: StoredEndpoint): void {
    endpoints.delete(endpoint.arn);
    endpoint.application.endpoints.delete(endpoint.arn);
  }

  /** Applies checked endpoint attributes; a new Token re-keys the endpoint. */
  function applyEndpointAttributes(endpoint: StoredEndpoint, attributes: Record<string, string>): void {
    if (attributes.Token !== undefined) endpoint.token = attributes.Token;
    if (attributes.Enabled !== undefined) endpoint.enabled = attributes.Enabled === 'true';
    if (attributes.CustomUserData !== undefined) endpoint.customUserData = attributes.CustomUserData || undefined;
  }

  /** The endpoint a Publish goes to; topics and phone numbers are not emulated. */
  function publishTarget(form: Form): StoredEndpoint {
    const onlyEndpoints = 'the local SNS emulates mobile push only: publish with TargetArn set to a platform endpoint ARN';
    if (form.get('TopicArn')) throw invalid('TopicArn', onlyEndpoints);
    if (form.get('PhoneNumber')) throw invalid('PhoneNumber', onlyEndpoints);
    const targetArn = form.get('TargetArn');
    if (!targetArn) throw invalid('TopicArn or TargetArn', 'no value for required parameter');
    const parts = arnParts('TargetArn', targetArn);
    if (!parts[5]!.startsWith('endpoint/')) throw invalid('TargetArn', onlyEndpoints);
    const endpoint = endpoints.get(targetArn);
    if (!endpoint) throw invalid('TargetArn', 'No endpoint found for the target arn specified');
    return endpoint;
  }

  /** Each operation returns the content of its `<Action>Result` element, or undefined for none. */
  const operations: Record<string, (form: Form) => string | undefined> = {
    CreatePlatformApplication(form) {
      const name = required(form, 'Name');
      checkApplicationName(name);
      const platform = checkPlatform(required(form, 'Platform'));
      return element('PlatformApplicationArn', escapeXml(upsertApplication(name, platform, stringMap(form, 'Attributes')).arn));
    },
    GetPlatformApplicationAttributes(form) {
      const application = applicationByArn(required(form, 'PlatformApplicationArn'));
      return attributesXml(applicationAttributes(application));
    },
    SetPlatformApplicationAttributes(form) {
      const application = applicationByArn(required(form, 'PlatformApplicationArn'));
      Object.assign(application.attributes, stringMap(form, 'Attributes'));
      return undefined;
    },
    ListPlatformApplications(form) {
      const { items, nextToken } = page([...applications.values()], pageStart(form), APPLICATIONS_PAGE);
      const members = items.map((application) =>
        element('member', element('PlatformApplicationArn', escapeXml(application.arn)) + attributesXml(applicationAttributes(application))),
      );
      return element('PlatformApplications', members.join('')) + (nextToken ? element('NextToken', nextToken) : '');
    },
    DeletePlatformApplication(form) {
      const arn = required(form, 'PlatformApplicationArn');
      arnParts('PlatformApplicationArn', arn);
      const application = applications.get(arn);
      if (application) {
        for (const endpointArn of [...application.endpoints]) deleteEndpoint(endpoints.get(endpointArn)!);
        applications.delete(arn);
      }
      return undefined;
    },
    CreatePlatformEndpoint(form) {
      const application = applicationByArn(required(form, 'PlatformApplicationArn'));
      const token = required(form, 'Token');
      const attributes = checkEndpointAttributes(stringMap(form, 'Attributes'));
      const customUserData = form.get('CustomUserData') ?? attributes.CustomUserData;
      if (customUserData !== undefined) checkCustomUserData(customUserData);
      const existing = [...application.endpoints].map((arn) => endpoints.get(arn)!).find((endpoint) => endpoint.token === token);
      if (existing) {
        // Idempotent for the same token and attributes; attributes not given are not compared.
        const same =
          (existing.customUserData ?? '') === (customUserData ?? '') &&
          (attributes.Enabled === undefined || String(existing.enabled) === attributes.Enabled);
        if (!same) throw invalid('Token', `Endpoint ${existing.arn} already exists with the same Token, but different attributes.`);
        return element('EndpointArn', escapeXml(existing.arn));
      }
      const endpoint: StoredEndpoint = {
        arn: `${arnPrefix}endpoint/${application.platform}/${application.name}/${randomUUID()}`,
        application,
        token,
        enabled: attributes.Enabled === undefined ? true : attributes.Enabled === 'true',
        customUserData: customUserData || undefined,
      };
      endpoints.set(endpoint.arn, endpoint);
      application.endpoints.add(endpoint.arn);
      return element('EndpointArn', escapeXml(endpoint.arn));
    },
    GetEndpointAttributes(form) {
      return attributesXml(endpointAttributes(endpointByArn(required(form, 'EndpointArn'))));
    },
    SetEndpointAttributes(form) {
      const endpoint = endpointByArn(required(form, 'EndpointArn'));
      const attributes = checkEndpointAttributes(stringMap(form, 'Attributes'));
      if (Object.keys(attributes).length === 0) throw invalid('Attributes', 'cannot be empty');
      applyEndpointAttributes(endpoint, attributes);
      return undefined;
    },
    ListEndpointsByPlatformApplication(form) {
      const application = applicationByArn(required(form, 'PlatformApplicationArn'));
      const all = [...application.endpoints].map((arn) => endpoints.get(arn)!);
      const { items, nextToken } = page(all, pageStart(form), ENDPOINTS_PAGE);
      const members = items.map((endpoint) => element('member', element('EndpointArn', escapeXml(endpoint.arn)) + attributesXml(endpointAttributes(endpoint))));
      return element('Endpoints', members.join('')) + (nextToken ? element('NextToken', nextToken) : '');
    },
    DeleteEndpoint(form) {
      const arn = required(form, 'EndpointArn');
      arnParts('EndpointArn', arn);
      const endpoint = endpoints.get(arn);
      if (endpoint) deleteEndpoint(endpoint);
      return undefined;
    },
    Publish(form) {
      const message = form.get('Message');
      if (!message) throw invalid('Empty message');
      const attributes = messageAttributes(form);
      let size = Buffer.byteLength(message, 'utf8');
      for (const [name, attribute] of attributes) size += Buffer.byteLength(name) + Buffer.byteLength(attribute.dataType) + Buffer.byteLength(attribute.value);
      if (size > MAX_MESSAGE_BYTES) throw invalid('Message too long');
      const endpoint = publishTarget(form);
      const delivered = platformMessage(message, form.get('MessageStructure'), endpoint.application.platform);
      if (!endpoint.enabled) throw new SnsError('EndpointDisabled', 'Endpoint is disabled');
      const messageId = randomUUID();
      published.push({
        messageId,
        targetArn: endpoint.arn,
        platform: endpoint.application.platform,
        token: endpoint.token,
        customUserData: endpoint.customUserData,
        message: delivered,
        messageAttributes: Object.fromEntries([...attributes].map(([name, attribute]) => [name, attribute.value])),
        at: new Date(),
      });
      return element('MessageId', messageId);
    },
  };

  /** What GetPlatformApplicationAttributes shows: Enabled and the attributes set, without credentials. */
  function applicationAttributes(application: Application): Record<string, string> {
    const shown: Record<string, string> = { Enabled: 'true' };
    for (const [name, value] of Object.entries(application.attributes)) if (!HIDDEN_APPLICATION_ATTRIBUTES.has(name)) shown[name] = value;
    return shown;
  }

  function send(res: ServerResponse, status: number, xml: string, requestId: string): void {
    res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml), 'x-amzn-requestid': requestId });
    res.end(xml);
  }

  /** The form of a request, or the protocol error it deserves. */
  async function readForm(req: IncomingMessage): Promise<Form> {
    if (req.method !== 'POST') throw new SnsError('MalformedQueryString', 'This endpoint speaks the SNS Query protocol over POST only (form-encoded Action=…&Version=2010-03-31).');
    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_REQUEST_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge) throw new SnsError('RequestEntityTooLarge', `The request is larger than ${MAX_REQUEST_BYTES} bytes.`);
      throw error;
    }
    const form = parseForm(raw.toString('utf8'));
    if (!form.get('Action')) throw new SnsError('MissingAction', 'The request must contain the parameter Action.');
    const version = form.get('Version');
    if (!version) throw new SnsError('MissingParameter', 'The request must contain the parameter Version.');
    if (version !== API_VERSION) throw new SnsError('NoSuchVersion', `The requested version (${version}) of service AmazonSNS does not exist.`);
    return form;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    try {
      const form = await readForm(req);
      const action = form.get('Action')!;
      const operation = Object.hasOwn(operations, action) ? operations[action] : undefined;
      if (!operation) {
        throw new SnsError('InvalidAction', `${action} is not emulated: the local SNS has the mobile push operations only (see lib/local/README.md).`);
      }
      send(res, 200, responseXml(action, operation(form), requestId), requestId);
    } catch (error) {
      if (res.destroyed) return;
      if (error instanceof SnsError) {
        if (error.protocolError) log?.info(`SNS emulator: ${error.code}: ${error.message}`);
        send(res, ERRORS[error.code], errorXml(error, requestId), requestId);
        return;
      }
      log?.error('SNS emulator: the request failed', error);
      send(res, 500, errorXml(new SnsError('InternalError', 'The request processing has failed because of an unknown error.'), requestId), requestId);
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  const sockets = trackSockets(server);
  const port = await listen(server, options.port ?? 0, host);

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    platformApplication(name, platform) {
      checkApplicationName(name);
      return upsertApplication(name, checkPlatform(platform), {}).arn;
    },
    published: () => published.map((push) => ({ ...push, messageAttributes: { ...push.messageAttributes }, at: new Date(push.at) })),
    endpoints: () =>
      [...endpoints.values()].map((endpoint) => ({ arn: endpoint.arn, applicationArn: endpoint.application.arn, attributes: endpointAttributes(endpoint) })),
    stop() {
      stopped ??= (async () => {
        const closing = closeServer(server);
        for (const socket of sockets) socket.destroy();
        await closing;
      })();
      return stopped;
    },
  };
}
