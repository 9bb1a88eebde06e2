/**
 * The attachments bucket and everything around it, as synthesized: the bucket's protections,
 * lifecycle, CORS (from the uploadOrigins context value), its notification of uploads to the
 * attachments queue, the S3 gateway endpoint, each function's grants on the bucket's prefixes,
 * the processor's size and timeout, and the alarms on-call acts on.
 */
import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { QUEUES } from '#config/queues';
import { HANDLER_ENTRIES } from '#config/routes';
import { FILES_PREFIX, UPLOAD_PREFIX } from '#core/attachments';
import { ALARM_THRESHOLDS, ATTACHMENT_FAILURES_METRIC } from '#lib/constructs/observability';
import { buildApp } from '#lib/stacks/app';
import { FUNCTION_ACCESS, type HandlerEntry } from '#lib/stacks/function-access';
import { VISIBILITY_TIMEOUT_FACTOR } from '#lib/stacks/function-timeouts';
import { queueName } from '#lib/stacks/naming';
import { actionsOf, functionLogicalId, functionStatements, resources, synth, type PolicyStatement, type Resource } from './synth.ts';

const ORIGINS = 'https://app.example.com, https://admin.example.com';
const dev = synth();
const withOrigins = synth({ uploadOrigins: ORIGINS, corsAllowOrigins: 'https://api-docs.example.com' });
const prod = synth({ stage: 'prod', alarmEmail: 'oncall@example.com', databaseInstanceType: 'm7g.large' });

const BUCKET = 'provider-customer-chat-dev-attachments-<AWS::AccountId>';

/** A CloudFormation value as text: `Fn::Join` joined, `Ref` as `<Name>`, `Fn::GetAtt` as `<Name.Attr>`. */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(flat).join(',');
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (Array.isArray(record['Fn::Join'])) {
      const [delimiter, parts] = record['Fn::Join'] as [string, unknown[]];
      return parts.map(flat).join(delimiter);
    }
    if ('Ref' in record) return `<${String(record.Ref)}>`;
    if (Array.isArray(record['Fn::GetAtt'])) return `<${(record['Fn::GetAtt'] as string[]).join('.')}>`;
  }
  return JSON.stringify(value);
}

function attachmentsBucket(template = dev.statefulTemplate): [string, Resource & { DeletionPolicy?: string }] {
  const found = resources(template, 'AWS::S3::Bucket').filter(([, bucket]) => flat(bucket.Properties?.BucketName).includes('-attachments-'));
  expect(found).toHaveLength(1);
  return found[0] as [string, Resource & { DeletionPolicy?: string }];
}

function s3Statements(entry: string): PolicyStatement[] {
  const template = dev.statelessTemplate;
  return functionStatements(template, functionLogicalId(template, entry)).filter((statement) => actionsOf(statement).some((action) => action.startsWith('s3:')));
}

/** Each action a function may take on the bucket, with the resources it may take it on. */
function grants(entry: string): Record<string, string[]> {
  const byAction: Record<string, string[]> = {};
  for (const statement of s3Statements(entry)) {
    expect(statement.Effect).toBe('Allow');
    const resourceList = (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).map(flat);
    for (const action of actionsOf(statement)) byAction[action] = [...(byAction[action] ?? []), ...resourceList].sort();
  }
  return byAction;
}

function environment(entry: string): Record<string, unknown> {
  const template = dev.statelessTemplate;
  return template.findResources('AWS::Lambda::Function')[functionLogicalId(template, entry)]!.Properties.Environment.Variables;
}

const objects = (prefix: string) => `arn:<AWS::Partition>:s3:::${BUCKET}/${prefix}*`;

describe('the attachments bucket', () => {
  it('is encrypted (SSE-S3), blocks all public access, has ACLs disabled and no versioning', () => {
    const [, bucket] = attachmentsBucket();
    expect(flat(bucket.Properties?.BucketName)).toBe(BUCKET);
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    // A deleted attachment is gone: no older versions stay behind.
    expect(bucket.Properties?.VersioningConfiguration).toBeUndefined();
  });

  it('refuses every request without TLS', () => {
    const [id] = attachmentsBucket();
    const policy = resources(dev.statefulTemplate, 'AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: id }));
    expect((policy![1].Properties?.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } }),
    );
  });

  it('expires uploads nobody processed after a day, aborts stale multipart uploads, and never expires files/', () => {
    const [, bucket] = attachmentsBucket();
    const rules = (bucket.Properties?.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toContainEqual({ Id: 'expire-unprocessed-uploads', Prefix: UPLOAD_PREFIX, ExpirationInDays: 1, Status: 'Enabled' });
    expect(rules).toContainEqual({ Id: 'abort-incomplete-multipart-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' });
    // Whatever deletes objects is limited to uploads/: no rule without a prefix, or on files/, expires anything.
    const deleting = rules.filter((rule) => ['ExpirationInDays', 'ExpirationDate', 'NoncurrentVersionExpiration', 'ExpiredObjectDeleteMarker', 'Transitions'].some((key) => key in rule));
    expect(deleting.map((rule) => rule.Prefix)).toEqual([UPLOAD_PREFIX]);
    expect(JSON.stringify(rules)).not.toContain(FILES_PREFIX);
  });

  it('allows browser uploads (POST) and downloads (GET) from the uploadOrigins context value', () => {
    const [, bucket] = attachmentsBucket(withOrigins.statefulTemplate);
    expect(bucket.Properties?.CorsConfiguration).toEqual({
      CorsRules: [
        expect.objectContaining({
          AllowedMethods: ['POST', 'GET', 'HEAD'],
          AllowedOrigins: ['https://app.example.com', 'https://admin.example.com'],
        }),
      ],
    });
    // Unset, it follows the HTTP API's CORS origins.
    const fallback = synth({ corsAllowOrigins: 'https://app.example.com' });
    expect((attachmentsBucket(fallback.statefulTemplate)[1].Properties?.CorsConfiguration as { CorsRules: { AllowedOrigins: string[] }[] }).CorsRules[0]!.AllowedOrigins).toEqual([
      'https://app.example.com',
    ]);
  });

  it('logs its server access to a log bucket of its own that expires the logs', () => {
    const [, bucket] = attachmentsBucket();
    const logging = bucket.Properties?.LoggingConfiguration as { DestinationBucketName: { Ref: string }; LogFilePrefix: string };
    expect(logging.LogFilePrefix).toBe('attachments/');
    const logs = dev.statefulTemplate.findResources('AWS::S3::Bucket')[logging.DestinationBucketName.Ref] as Resource;
    expect(logs.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect((logs.Properties?.LifecycleConfiguration as { Rules: unknown[] }).Rules).toContainEqual(expect.objectContaining({ ExpirationInDays: dev.settings.logRetentionDays }));
    // Delivered by the bucket policy for S3's logging service (ACLs are disabled).
    const policy = resources(dev.statefulTemplate, 'AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify(logging.DestinationBucketName));
    expect(JSON.stringify(policy![1].Properties?.PolicyDocument)).toContain('logging.s3.amazonaws.com');
  });

  it('is deleted (emptied first) with a dev stack and retained in production, like the queues and tables', () => {
    expect(attachmentsBucket()[1].DeletionPolicy).toBe('Delete');
    dev.statefulTemplate.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    expect(attachmentsBucket(prod.statefulTemplate)[1].DeletionPolicy).toBe('Retain');
    prod.statefulTemplate.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('refuses a stage name that would make the bucket name longer than S3 allows', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], stage: 'a-very-long-stage-x' } });
    expect(() => buildApp(app, { nag: false })).toThrow(/longer than S3's 63 characters/);
  });
});

describe('the upload notification', () => {
  it('sends ObjectCreated events of keys under uploads/ (only) to the attachments queue', () => {
    const [bucketId] = attachmentsBucket();
    const [queueId] = resources(dev.statefulTemplate, 'AWS::SQS::Queue').find(([, q]) => q.Properties?.QueueName === queueName('dev', 'attachments'))!;
    const notifications = resources(dev.statefulTemplate, 'Custom::S3BucketNotifications');
    expect(notifications).toHaveLength(1);
    expect(notifications[0]![1].Properties).toMatchObject({
      BucketName: { Ref: bucketId },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: QUEUES.attachments.notifiedByUploadsUnder }] } },
            QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
          },
        ],
      },
    });
    expect(QUEUES.attachments.notifiedByUploadsUnder).toBe(UPLOAD_PREFIX);
  });

  it('is let in by the queue policy: S3, for this bucket only (the queue is SQS-encrypted, so no key policy is needed)', () => {
    const [bucketId] = attachmentsBucket();
    const [queueId, queue] = resources(dev.statefulTemplate, 'AWS::SQS::Queue').find(([, q]) => q.Properties?.QueueName === queueName('dev', 'attachments'))!;
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    expect(queue.Properties?.KmsMasterKeyId).toBeUndefined();
    const policy = resources(dev.statefulTemplate, 'AWS::SQS::QueuePolicy').find(([, p]) => JSON.stringify(p.Properties?.Queues) === JSON.stringify([{ Ref: queueId }]))!;
    expect((policy[1].Properties?.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual({
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } } },
      Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
  });
});

describe('access to the bucket', () => {
  it('gives the functions in the VPC an S3 gateway endpoint in their subnets', () => {
    const endpoints = resources(dev.statefulTemplate, 'AWS::EC2::VPCEndpoint').filter(([, e]) => flat(e.Properties?.ServiceName).endsWith('.s3'));
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]![1].Properties?.VpcEndpointType).toBe('Gateway');
    const routeTables = flat(endpoints[0]![1].Properties?.RouteTableIds);
    expect(routeTables).toContain('ApplicationSubnet');
    expect(routeTables).not.toContain('DatabaseSubnet');
    // The functions that reach the bucket from the VPC.
    for (const entry of ['http/attachments', 'queue/process-attachments', 'scheduled/sweep-attachments']) {
      const fn = dev.statelessTemplate.findResources('AWS::Lambda::Function')[functionLogicalId(dev.statelessTemplate, entry)]!;
      expect(fn.Properties.VpcConfig, entry).toBeDefined();
    }
  });

  it('lets the attachments routes presign uploads under uploads/ and downloads of files/, nothing more', () => {
    expect(grants('http/attachments')).toEqual({ 's3:PutObject': [objects(UPLOAD_PREFIX)], 's3:GetObject': [objects(FILES_PREFIX)] });
  });

  it('lets the processor read and delete uploads, write files/, and list (so a missing upload reads as 404)', () => {
    expect(grants('queue/process-attachments')).toEqual({
      's3:GetObject': [objects(UPLOAD_PREFIX)],
      's3:DeleteObject': [objects(UPLOAD_PREFIX)],
      's3:PutObject': [objects(FILES_PREFIX)],
      's3:ListBucket': [`arn:<AWS::Partition>:s3:::${BUCKET}`],
    });
  });

  it('lets the sweep delete under both prefixes and read nothing', () => {
    expect(grants('scheduled/sweep-attachments')).toEqual({ 's3:DeleteObject': [objects(FILES_PREFIX), objects(UPLOAD_PREFIX)] });
  });

  it.each(HANDLER_ENTRIES as HandlerEntry[])('%s: has the bucket (ATTACHMENTS_BUCKET and S3 grants) exactly when its access names it', (entry) => {
    const level = FUNCTION_ACCESS[entry].attachments;
    if (!level) {
      expect(s3Statements(entry)).toEqual([]);
      expect(environment(entry).ATTACHMENTS_BUCKET).toBeUndefined();
      return;
    }
    expect(flat(environment(entry).ATTACHMENTS_BUCKET)).toBe(BUCKET);
    // The bucket notifies the queue itself: nobody sends to it.
    expect(environment(entry).ATTACHMENTS_QUEUE_URL).toBeUndefined();
  });
});

describe('the attachments processor', () => {
  const template = dev.statelessTemplate;
  const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(template, 'queue/process-attachments')]!;

  it('runs on ARM64 with 1536 MB (sharp) and a timeout six times shorter than its queue\'s visibility timeout', () => {
    expect(fn.Properties).toMatchObject({ Architectures: ['arm64'], MemorySize: 1536, Timeout: 60 });
    const queue = resources(dev.statefulTemplate, 'AWS::SQS::Queue').find(([, q]) => q.Properties?.QueueName === queueName('dev', 'attachments'))!;
    expect(queue[1].Properties?.VisibilityTimeout).toBe(360);
    expect(360).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * fn.Properties.Timeout);
  });

  it('is triggered by the attachments queue in batches of the manifest, reporting partial batch failures', () => {
    const mappings = resources(template, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => flat(m.Properties?.EventSourceArn).endsWith(`:${queueName('dev', 'attachments')}`));
    expect(mappings).toHaveLength(1);
    expect(mappings[0]![1].Properties).toMatchObject({ BatchSize: 5, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });
});

describe('attachments alarms and dashboard', () => {
  const monitoring = dev.monitoringTemplate;
  const alarm = (name: string) => {
    const found = resources(monitoring, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties?.AlarmName === `provider-customer-chat-dev-${name}`);
    expect(found, name).toHaveLength(1);
    return found[0]![1].Properties!;
  };

  it('counts the processor\'s failed records from its ERROR log lines and alarms on a few in 5 minutes', () => {
    const filters = resources(monitoring, 'AWS::Logs::MetricFilter');
    expect(filters).toHaveLength(1);
    expect(filters[0]![1].Properties).toMatchObject({
      FilterPattern: '{ $.level = "ERROR" }',
      MetricTransformations: [{ MetricName: ATTACHMENT_FAILURES_METRIC, MetricNamespace: 'ProviderCustomerChat', MetricValue: '1', DefaultValue: 0 }],
    });
    const failures = alarm('attachment-processing-failures');
    expect(failures).toMatchObject({
      MetricName: ATTACHMENT_FAILURES_METRIC,
      Threshold: ALARM_THRESHOLDS.attachmentProcessingFailures,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Period: 300,
    });
    expect(failures.AlarmDescription).toContain('docs/operations.md#attachment-processing-failures');
    expect(failures.AlarmActions).toHaveLength(1);
  });

  it('alarms on the dead-letter queue of the attachments queue with its own runbook entry', () => {
    const deadLetters = alarm('dead-letters-attachments');
    expect(deadLetters.AlarmDescription).toContain('docs/operations.md#dead-letters-attachments');
    expect(deadLetters.Threshold).toBe(ALARM_THRESHOLDS.deadLetterMessages);
  });

  it('alarms when most processed uploads are rejected, not on rejections as such', () => {
    const rate = alarm('attachment-rejection-rate');
    expect(JSON.stringify(rate.Metrics)).toContain('AttachmentsRejected');
    expect(JSON.stringify(rate.Metrics)).toContain('AttachmentsProcessed');
    expect(rate.Threshold).toBe(ALARM_THRESHOLDS.attachmentRejectionRatePercent);
    // Rejections alone page nobody.
    const onRejections = resources(monitoring, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties?.MetricName === 'AttachmentsRejected');
    expect(onRejections).toEqual([]);
  });

  it('shows uploads processed, rejected and failed, and the processing time, on the dashboard', () => {
    const body = JSON.stringify(resources(monitoring, 'AWS::CloudWatch::Dashboard')[0]![1].Properties?.DashboardBody);
    for (const text of ['Attachments: uploads processed / rejected / failed', 'AttachmentsProcessed', 'AttachmentsRejected', ATTACHMENT_FAILURES_METRIC, 'AttachmentProcessingTime']) {
      expect(body).toContain(text);
    }
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged with upload origins configured', () => {
    const report = new AwsSolutionsChecks().validateScope(withOrigins.app);
    expect(report.violations.flatMap((violation) => violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`))).toEqual([]);
  });
});
