/**
 * Everything that holds data or identity and outlives a code deployment: the network, Postgres
 * (RDS behind RDS Proxy), the DynamoDB tables, the SQS queues with their dead-letter queues and,
 * the attachments bucket (with its access-log bucket) and, without an external issuer, the
 * Cognito user pool. Deployed before, and changed far less often
 * than, the stateless stack.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Token, Validations, type StackProps } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { QUEUE_KEYS, QUEUES, type QueueDefinition, type QueueKey } from '#config/queues';
import { UPLOAD_PREFIX } from '#core/attachments';
import { TABLE_KEYS, TABLES, type KeyAttribute, type TableDefinition, type TableKey } from '#config/tables';
import { SERVICE_RESOURCE_SERVER, SERVICE_SCOPE, SERVICE_SCOPE_NAME, type ClaimNames, type DeploymentSettings } from './deployment-settings.ts';
import { queueVisibilityTimeout } from './function-timeouts.ts';
import {
  accessLogsBucketName,
  attachmentsBucketName,
  BUCKET_NAME_MAX_LENGTH,
  DATABASE_NAME,
  DATABASE_USER,
  deadLetterQueueName,
  pascalCase,
  queueName,
  resourcePrefix,
  tableName,
} from './naming.ts';

/** Subnet groups: NAT gateways, Lambda functions, and the database with its proxy. */
export const SUBNETS = {
  public: 'Public',
  application: 'Application',
  database: 'Database',
} as const;

const POSTGRES_PORT = 5432;

/** How API Gateway and the handlers verify tokens, once the issuer is known. */
export interface TokenIssuer {
  issuer: string;
  audience: string[];
  jwksUri: string;
  claims: ClaimNames;
  /** The scope that makes a client-credentials token a service's (AUTH_SERVICE_SCOPE), when services are set up. */
  serviceScope?: string;
}

/** A queue of functions/config/queues.ts and the dead-letter queue its failed messages move to. */
export interface ChatQueue {
  queue: sqs.Queue;
  deadLetterQueue: sqs.Queue;
}

export interface StatefulStackProps extends StackProps {
  settings: DeploymentSettings;
}

export class StatefulStack extends Stack {
  readonly settings: DeploymentSettings;
  readonly vpc: ec2.Vpc;
  /** Functions that use Postgres run in this group; the proxy admits it and nothing else. */
  readonly databaseClientSecurityGroup: ec2.SecurityGroup;
  readonly proxySecurityGroup: ec2.SecurityGroup;
  readonly databaseSecurityGroup: ec2.SecurityGroup;
  readonly database: rds.DatabaseInstance;
  readonly databaseSecret: ISecret;
  /** The webhook signing secret (a generated string; rotate it by hand, see docs/operations.md). */
  readonly webhookSecret: secretsmanager.Secret;
  readonly proxy: rds.DatabaseProxy;
  readonly databaseName = DATABASE_NAME;
  /** Fixed names, so dashboards and alarms in the stateless stack need no exports. */
  readonly databaseInstanceIdentifier: string;
  readonly proxyName: string;
  readonly tables: Record<TableKey, dynamodb.Table>;
  /** Fixed names too: the stateless stack addresses them by name, like the tables. */
  readonly queues: Record<QueueKey, ChatQueue>;
  /** Photos, files and voice notes (functions/core/attachments.ts); named like the tables, by stage and account. */
  readonly attachmentsBucket: s3.Bucket;
  /** The attachments bucket's server access logs: who fetched or uploaded which key, and what S3 refused. */
  readonly accessLogsBucket: s3.Bucket;
  readonly tokenIssuer: TokenIssuer;
  readonly userPool?: cognito.UserPool;
  readonly userPoolClient?: cognito.UserPoolClient;
  /** The app client marketplace services get client-credentials tokens with (context `serviceClient`). */
  readonly serviceClient?: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { settings } = props;
    this.settings = settings;
    const prefix = resourcePrefix(settings.stage);
    const logRetention = settings.logRetentionDays as logs.RetentionDays;
    const retainOrDestroy = settings.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // ── Network ──────────────────────────────────────────────────────────────────────────
    // Only functions that use Postgres run in the VPC. They also post to @connections, which a
    // VPC endpoint cannot reach (execute-api endpoints serve private REST APIs only), so they
    // leave through NAT; DynamoDB traffic stays on the free gateway endpoint. See
    // docs/operations.md, "Networking".
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      natGateways: settings.natGateways,
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [
        { name: SUBNETS.public, subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: SUBNETS.application, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: SUBNETS.database, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: {
        DynamoDb: {
          service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
          subnets: [{ subnetGroupName: SUBNETS.application }],
        },
        // The attachments processor, the orphan sweep and the attachments routes run in the VPC
        // (they use Postgres) and read, write and delete objects: free, and no NAT traffic per byte.
        S3: {
          service: ec2.GatewayVpcEndpointAwsService.S3,
          subnets: [{ subnetGroupName: SUBNETS.application }],
        },
      },
    });
    const flowLogGroup = new logs.LogGroup(this, 'VpcFlowLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('RejectedTraffic', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.databaseClientSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseClientSecurityGroup', {
      vpc: this.vpc,
      description: 'Lambda functions that use Postgres through RDS Proxy',
      allowAllOutbound: false,
    });
    this.proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc: this.vpc,
      description: 'RDS Proxy: admits the database clients, reaches the database',
      allowAllOutbound: true,
    });
    this.databaseSecurityGroup = new ec2.SecurityGroup(this, 'DatabaseSecurityGroup', {
      vpc: this.vpc,
      description: 'RDS PostgreSQL: admits RDS Proxy only',
      allowAllOutbound: false,
    });
    // Clients: HTTPS to AWS APIs (DynamoDB endpoint, Secrets Manager, @connections) and Postgres to the proxy only.
    this.databaseClientSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs');
    this.databaseClientSecurityGroup.addEgressRule(this.proxySecurityGroup, ec2.Port.tcp(POSTGRES_PORT), 'Postgres through RDS Proxy');
    this.proxySecurityGroup.addIngressRule(this.databaseClientSecurityGroup, ec2.Port.tcp(POSTGRES_PORT), 'Database clients');
    // The database's single ingress rule (from the proxy's group) is added by addProxy below.

    // ── Postgres ─────────────────────────────────────────────────────────────────────────
    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 });
    const instanceIdentifier = `${prefix}-postgres`;
    this.databaseInstanceIdentifier = instanceIdentifier;
    this.proxyName = `${prefix}-proxy`;
    // Created up front so its retention applies (RDS would create it without one).
    const databaseLogGroup = new logs.LogGroup(this, 'DatabaseLogs', {
      logGroupName: `/aws/rds/instance/${instanceIdentifier}/postgresql`,
      retention: logRetention,
      removalPolicy: retainOrDestroy,
    });
    this.database = new rds.DatabaseInstance(this, 'Database', {
      instanceIdentifier,
      engine,
      instanceType: new ec2.InstanceType(settings.database.instanceType),
      vpc: this.vpc,
      vpcSubnets: { subnetGroupName: SUBNETS.database },
      securityGroups: [this.databaseSecurityGroup],
      credentials: rds.Credentials.fromGeneratedSecret(DATABASE_USER, { secretName: `${prefix}/database` }),
      databaseName: DATABASE_NAME,
      port: POSTGRES_PORT,
      multiAz: settings.database.multiAz,
      storageType: rds.StorageType.GP3,
      allocatedStorage: settings.database.allocatedStorageGb,
      maxAllocatedStorage: settings.database.maxAllocatedStorageGb,
      storageEncrypted: true,
      backupRetention: Duration.days(settings.database.backupRetentionDays),
      preferredBackupWindow: '03:00-03:30',
      preferredMaintenanceWindow: 'sun:04:00-sun:04:30',
      deleteAutomatedBackups: false,
      copyTagsToSnapshot: true,
      deletionProtection: settings.deletionProtection,
      removalPolicy: settings.deletionProtection ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      autoMinorVersionUpgrade: true,
      publiclyAccessible: false,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      cloudwatchLogsExports: ['postgresql'],
      parameterGroup: new rds.ParameterGroup(this, 'DatabaseParameters', {
        engine,
        description: `${prefix} PostgreSQL 17`,
        parameters: {
          'rds.force_ssl': '1',
          // Slow statements (ms) land in the exported postgresql log.
          log_min_duration_statement: '500',
          // A client that died inside a transaction must not hold row locks (seq counters) for long.
          idle_in_transaction_session_timeout: '60000',
        },
      }),
    });
    this.database.node.addDependency(databaseLogGroup);
    if (!this.database.secret) throw new Error('The database has no generated secret');
    this.databaseSecret = this.database.secret;

    this.proxy = this.database.addProxy('Proxy', {
      dbProxyName: this.proxyName,
      secrets: [this.databaseSecret],
      vpc: this.vpc,
      vpcSubnets: { subnetGroupName: SUBNETS.database },
      securityGroups: [this.proxySecurityGroup],
      requireTLS: true,
      iamAuth: false,
      clientPasswordAuthType: rds.ClientPasswordAuthType.POSTGRES_SCRAM_SHA_256,
      idleClientTimeout: Duration.minutes(30),
      maxConnectionsPercent: 90,
      maxIdleConnectionsPercent: 50,
      borrowTimeout: Duration.seconds(30),
    });

    if (settings.database.secretRotationDays > 0) {
      this.database.addRotationSingleUser({
        automaticallyAfter: Duration.days(settings.database.secretRotationDays),
        vpcSubnets: { subnetGroupName: SUBNETS.application },
      });
    } else {
      // The generated secret itself (database.secret is its attachment to the instance).
      Validations.of(this.database.node.findChild('Secret')).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotation is off for this stage (databaseSecretRotationDays=0): the handlers read the password once per container, so a rotation would fail their new connections until they are recycled. Turn it on with databaseSecretRotationDays once they re-read the secret on an authentication failure.',
      });
    }
    if (!settings.database.multiAz) {
      Validations.of(this.database).acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: `Single-AZ for the ${settings.stage} stage to halve its cost; production stages (or databaseMultiAz=true) run Multi-AZ.`,
      });
    }
    if (!settings.deletionProtection) {
      Validations.of(this.database).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: `Deletion protection is off for the ${settings.stage} stage so it can be torn down; production stages (or deletionProtection=true) turn it on.`,
      });
    }
    Validations.of(this.database).acknowledge({
      id: 'AwsSolutions-RDS11',
      reason: 'Clients never reach the instance directly: its security group admits RDS Proxy only, and RDS Proxy always listens on the engine port 5432, so a non-default instance port would hide nothing.',
    });

    // ── DynamoDB ─────────────────────────────────────────────────────────────────────────
    this.tables = Object.fromEntries(TABLE_KEYS.map((key) => [key, this.createTable(key, settings)])) as Record<
      TableKey,
      dynamodb.Table
    >;

    // ── SQS ──────────────────────────────────────────────────────────────────────────────
    // Here rather than in the stateless stack: an event waiting in a queue, and above all one in a
    // dead-letter queue waiting to be replayed, is data that a redeploy of the code must not
    // delete. See docs/operations.md, "The event pipeline".
    this.queues = Object.fromEntries(QUEUE_KEYS.map((key) => [key, this.createQueue(key, settings)])) as Record<QueueKey, ChatQueue>;

    // ── S3: the attachments bucket ──────────────────────────────────────────────────────────
    const buckets = this.createAttachmentsBucket(settings);
    this.attachmentsBucket = buckets.attachments;
    this.accessLogsBucket = buckets.accessLogs;

    // ── Webhooks: the signing secret the receiver verifies with ─────────────────────────────
    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      secretName: `${prefix}/webhook-signing`,
      description: 'HMAC-SHA256 key of the X-Chat-Signature header of webhooks (functions/core/webhooks.ts); give it to the receiver',
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
      removalPolicy: settings.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(this.webhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The receiver holds a copy of the webhook signing key, so it is changed by hand together with the receiver (docs/operations.md, "Webhooks"), not by a rotation Lambda.',
    });

    // ── Identity ─────────────────────────────────────────────────────────────────────────
    if (settings.identity.kind === 'external') {
      const { issuer, audience, jwksUri, claims, serviceScope } = settings.identity;
      this.tokenIssuer = {
        issuer,
        audience,
        jwksUri: jwksUri ?? `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`,
        claims,
        ...(serviceScope ? { serviceScope } : {}),
      };
    } else {
      const { userPool, client } = this.createUserPool(prefix, settings);
      this.userPool = userPool;
      this.userPoolClient = client;
      const services = settings.identity.serviceClient ? this.createServiceClient(prefix, userPool, settings.identity.serviceClient) : undefined;
      this.serviceClient = services?.client;
      this.tokenIssuer = {
        issuer: userPool.userPoolProviderUrl,
        // Access tokens name their app client in client_id, which API Gateway and the handlers match against the audience.
        audience: [client.userPoolClientId, ...(services ? [services.client.userPoolClientId] : [])],
        jwksUri: `${userPool.userPoolProviderUrl}/.well-known/jwks.json`,
        claims: settings.identity.claims,
        ...(services ? { serviceScope: SERVICE_SCOPE } : {}),
      };
      new CfnOutput(this, 'UserPoolId', { value: userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: client.userPoolClientId });
      if (services) {
        new CfnOutput(this, 'ServiceClientId', { value: services.client.userPoolClientId });
        new CfnOutput(this, 'ServiceTokenUrl', { value: `${services.domain.baseUrl()}/oauth2/token` });
      }
    }

    new CfnOutput(this, 'DatabaseProxyEndpoint', { value: this.proxy.endpoint });
    new CfnOutput(this, 'DatabaseSecretArn', { value: this.databaseSecret.secretArn });
    new CfnOutput(this, 'WebhookSecretArn', {
      value: this.webhookSecret.secretArn,
      description: 'The webhook signing key: aws secretsmanager get-secret-value --secret-id <this ARN> --query SecretString',
    });
    new CfnOutput(this, 'AttachmentsBucketName', {
      value: this.attachmentsBucket.bucketName,
      description: 'Uploads (uploads/, deleted once processed) and what processing kept (files/): aws s3 ls s3://<this>/files/',
    });
    new CfnOutput(this, 'AccessLogsBucketName', {
      value: this.accessLogsBucket.bucketName,
      description: "The attachments bucket's server access logs (prefix attachments/): aws s3 ls s3://<this>/attachments/",
    });
    for (const key of QUEUE_KEYS) {
      const { queue, deadLetterQueue } = this.queues[key];
      const name = pascalCase(key);
      new CfnOutput(this, `${name}QueueUrl`, { value: queue.queueUrl, description: `The ${key} queue (aws sqs get-queue-attributes --queue-url …)` });
      new CfnOutput(this, `${name}QueueArn`, { value: queue.queueArn });
      new CfnOutput(this, `${name}DeadLetterQueueUrl`, { value: deadLetterQueue.queueUrl, description: `The ${key} queue's dead-letter queue: inspect with aws sqs receive-message` });
      new CfnOutput(this, `${name}DeadLetterQueueArn`, {
        value: deadLetterQueue.queueArn,
        description: `Replay with aws sqs start-message-move-task --source-arn <this ARN> (docs/operations.md)`,
      });
    }
  }

  /**
   * One queue of functions/config/queues.ts with its dead-letter queue: SQS-managed encryption,
   * TLS required, the definition's retention, and a redrive policy that moves a message to the
   * dead-letter queue after maxReceiveCount receives. Only this queue may use that dead-letter
   * queue (and so redrive its messages back); no queue may use the main queue as its own.
   */
  private createQueue(key: QueueKey, settings: DeploymentSettings): ChatQueue {
    const definition: QueueDefinition = QUEUES[key];
    const name = queueName(settings.stage, key);
    const removalPolicy = settings.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    // Named by ARN, not by the queue itself: the queue refers to its dead-letter queue already.
    const source = sqs.Queue.fromQueueAttributes(this, `${pascalCase(key)}QueueSource`, {
      queueArn: this.formatArn({ service: 'sqs', resource: name }),
      queueName: name,
    });
    const deadLetterQueue = new sqs.Queue(this, `${pascalCase(key)}DeadLetterQueue`, {
      queueName: deadLetterQueueName(settings.stage, key),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(definition.deadLetterRetentionSeconds),
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.BY_QUEUE, sourceQueues: [source] },
      removalPolicy,
    });
    const queue = new sqs.Queue(this, `${pascalCase(key)}Queue`, {
      queueName: name,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(definition.retentionSeconds),
      visibilityTimeout: queueVisibilityTimeout(key),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
      removalPolicy,
    });
    return { queue, deadLetterQueue };
  }

  /**
   * The attachments bucket: SSE-S3 encryption, no public access, TLS only, no versioning (an
   * object is written once and deleted by processing or the sweep, and a deleted attachment must
   * really be gone), CORS for the web app's presigned POSTs and GETs, and the ObjectCreated
   * notification of uploads under `uploads/` to the attachments queue. Lifecycle: an upload that
   * neither processing nor the sweep deleted expires after a day; nothing ever expires `files/`
   * (only the sweep deletes what a message no longer holds). Its server access logs go to a
   * bucket of their own, kept for logRetentionDays.
   */
  private createAttachmentsBucket(settings: DeploymentSettings): { attachments: s3.Bucket; accessLogs: s3.Bucket } {
    const account = Token.isUnresolved(this.account) ? '123456789012' : this.account;
    const longest = attachmentsBucketName(settings.stage, account);
    if (longest.length > BUCKET_NAME_MAX_LENGTH) {
      throw new Error(`The attachments bucket's name ${longest} is longer than S3's ${BUCKET_NAME_MAX_LENGTH} characters: use a stage name of at most 15 characters`);
    }
    const removalPolicy = settings.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    // A dev stack's buckets are emptied on deletion (CloudFormation cannot delete a bucket that holds objects).
    const autoDeleteObjects = !settings.deletionProtection;

    const accessLogs = new s3.Bucket(this, 'AccessLogsBucket', {
      bucketName: accessLogsBucketName(settings.stage, this.account),
      // Server access logging delivers only to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: false,
      lifecycleRules: [
        { id: 'expire-logs', expiration: Duration.days(settings.logRetentionDays) },
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy,
      autoDeleteObjects,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket holds the attachments bucket\'s server access logs; logging its own access would log the log deliveries themselves.',
    });

    const attachments = new s3.Bucket(this, 'AttachmentsBucket', {
      bucketName: attachmentsBucketName(settings.stage, this.account),
      // SSE-S3: the queue the bucket notifies uses SQS-managed encryption too, so S3 needs no key policy to send to it.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: false,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'attachments/',
      cors: [
        {
          // The presigned POST of an upload intent, and the presigned GET a content redirect points at.
          allowedMethods: [s3.HttpMethods.POST, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
          allowedOrigins: settings.uploadOrigins,
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag', 'Content-Length', 'Content-Type'],
          maxAge: 3600,
        },
      ],
      lifecycleRules: [
        // Processing deletes each upload, and the sweep the records and objects no message claimed
        // (after CHAT_ATTACHMENT_ORPHAN_HOURS); this only catches what both missed.
        { id: 'expire-unprocessed-uploads', prefix: UPLOAD_PREFIX, expiration: Duration.days(1) },
        // Presigned POSTs are single requests; this clears any multipart upload left behind.
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy,
      autoDeleteObjects,
    });
    const prefix = QUEUES.attachments.notifiedByUploadsUnder;
    // The destination adds the queue policy statement that lets S3 (this bucket, this account) send.
    attachments.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queues.attachments.queue), { prefix });

    // The custom resources CDK adds: the bucket-notifications handler (a singleton of this stack)
    // and, in a dev stack, the provider that empties the buckets on deletion.
    const notificationsHandler = this.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
    if (notificationsHandler) {
      Validations.of(notificationsHandler).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: "CDK's bucket-notifications custom resource: the AWS-maintained basic execution policy only lets it write its own logs.",
        },
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: "CDK's bucket-notifications custom resource: s3:PutBucketNotification is granted by CDK on '*'; it runs only when the notification configuration changes at deployment.",
        },
      );
    }
    const autoDeleteProvider = this.node.tryFindChild('Custom::S3AutoDeleteObjectsCustomResourceProvider');
    if (autoDeleteProvider) {
      Validations.of(autoDeleteProvider).acknowledge({
        id: 'AwsSolutions-L1',
        reason: "CDK's auto-delete-objects provider of a dev stack (deletionProtection off): its runtime is chosen by aws-cdk-lib, and it runs only when the stack is deleted.",
      });
    }
    return { attachments, accessLogs };
  }

  private createTable(key: TableKey, settings: DeploymentSettings): dynamodb.Table {
    const definition: TableDefinition = TABLES[key];
    const attribute = (a: KeyAttribute): dynamodb.Attribute => ({
      name: a.name,
      type: a.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
    });
    const table = new dynamodb.Table(this, `${pascalCase(key)}Table`, {
      tableName: tableName(settings.stage, key),
      partitionKey: attribute(definition.partitionKey),
      ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: definition.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: definition.pointInTimeRecovery },
      deletionProtection: settings.deletionProtection,
      removalPolicy: settings.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const index of definition.globalSecondaryIndexes) {
      const projection = index.projection;
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        projectionType:
          projection.type === 'ALL'
            ? dynamodb.ProjectionType.ALL
            : projection.type === 'KEYS_ONLY'
              ? dynamodb.ProjectionType.KEYS_ONLY
              : dynamodb.ProjectionType.INCLUDE,
        ...(projection.type === 'INCLUDE' ? { nonKeyAttributes: [...projection.attributes] } : {}),
      });
    }
    if (!definition.pointInTimeRecovery) {
      const reason = `The ${key} table holds short-lived state with a TTL that clients rebuild by themselves (they reconnect, re-join and type again); functions/config/tables.ts marks it as needing no recovery.`;
      Validations.of(table).acknowledge({ id: 'AwsSolutions-DDB3', reason });
    }
    return table;
  }

  private createUserPool(prefix: string, settings: DeploymentSettings) {
    const userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `${prefix}-users`,
      // Accounts are created by the car-wash platform (AdminCreateUser), which also sets the
      // identity attributes; nobody signs themselves up.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: {
        userId: new cognito.NumberAttribute({ min: 1, mutable: true }),
        role: new cognito.StringAttribute({ minLen: 5, maxLen: 8, mutable: true }),
        providerId: new cognito.NumberAttribute({ min: 1, mutable: true }),
      },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: settings.deletionProtection,
      removalPolicy: settings.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const client = userPool.addClient('AppClient', {
      userPoolClientName: `${prefix}-app`,
      generateSecret: false,
      authFlows: { userSrp: true, userPassword: true },
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      readAttributes: new cognito.ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true })
        .withCustomAttributes('userId', 'role', 'providerId'),
      // The identity attributes decide what a user may read; only administrators set them.
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
    });
    Validations.of(userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason: 'Customers and car-wash staff sign in on mobile apps; MFA is offered (TOTP) but not forced on them.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason: 'Essentials feature plan: accounts are created by the platform (no self sign-up), so the Plus plan\'s per-user threat protection is a cost decision left to the platform team; switch featurePlan when it is taken.',
      },
    );
    return { userPool, client };
  }

  /**
   * Marketplace services' own way in: a resource server with the scope `chat/service`, an app
   * client (with a secret) that may only use the client-credentials grant for that scope, and
   * the pool's domain, whose `/oauth2/token` issues the tokens. Such tokens carry `scope` and
   * `client_id` and no custom attributes: the handlers make them services by the scope.
   */
  private createServiceClient(prefix: string, userPool: cognito.UserPool, options: { domainPrefix?: string }) {
    const scope = new cognito.ResourceServerScope({ scopeName: SERVICE_SCOPE_NAME, scopeDescription: 'Act in the chat as a marketplace service' });
    const resourceServer = userPool.addResourceServer('ServiceResourceServer', {
      identifier: SERVICE_RESOURCE_SERVER,
      userPoolResourceServerName: `${prefix}-chat`,
      scopes: [scope],
    });
    const client = userPool.addClient('ServiceClient', {
      userPoolClientName: `${prefix}-services`,
      generateSecret: true,
      authFlows: {},
      oAuth: {
        flows: { clientCredentials: true },
        scopes: [cognito.OAuthScope.resourceServer(resourceServer, scope)],
      },
      accessTokenValidity: Duration.hours(1),
      preventUserExistenceErrors: true,
    });
    const domain = userPool.addDomain('ServiceDomain', {
      cognitoDomain: { domainPrefix: options.domainPrefix ?? `${prefix}-${this.account}` },
    });
    return { client, domain };
  }
}
