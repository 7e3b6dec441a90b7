import * as fs from 'fs';
import * as path from 'path';
import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { IServiceTokenProvider } from './common';
import { isLiteral } from './private/resource';

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

/**
 * The function and layer built into this package by `make cdk` (the Makefiles `sam build` runs),
 * relative to this file, so that the package works wherever it is installed.
 */
const PACKAGED_ASSETS = path.join(__dirname, '..', 'assets');

/** Properties of a `SpaceliftProvider`. */
export interface SpaceliftProviderProps {
  /** The Spacelift account's API endpoint, an https:// URL such as `https://acme.app.spacelift.io`. */
  readonly apiKeyEndpoint: string;

  /** The ID of the Spacelift API key. */
  readonly apiKeyId: string;

  /** The secret holding the API key's secret; the function may read this secret only. */
  readonly apiKeySecret: secretsmanager.ISecret;

  /**
   * The function's name. Its log group is then named like Lambda's own, `/aws/lambda/<name>`.
   *
   * @default - CloudFormation generates a name
   */
  readonly functionName?: string;

  /**
   * The function's log level: DEBUG, INFO, WARN or ERROR.
   *
   * @default "INFO"
   */
  readonly logLevel?: string;

  /**
   * X-Ray tracing of the function: `Tracing.ACTIVE` records each Spacelift call, the secret read
   * and the response (and lets the function write traces); otherwise the Powertools Tracer is not
   * even imported.
   *
   * @default Tracing.PASS_THROUGH
   */
  readonly tracing?: lambda.Tracing;

  /**
   * Export the ServiceToken under this name (the SAM stack exports `<stack name>-ServiceToken`),
   * for `Fn.importValue` in other stacks.
   *
   * @default - no export
   */
  readonly exportName?: string;

  /**
   * A folder holding the built function (`app.py` and `spacelift_cfn/`), such as
   * `.aws-sam/build/ProviderFunction` after `sam build`.
   *
   * @default - the function built into this package
   */
  readonly functionAssetPath?: string;

  /**
   * A folder holding the built dependencies layer (`python/`), such as
   * `.aws-sam/build/DependenciesLayer` after `sam build`.
   *
   * @default - the layer built into this package
   */
  readonly layerAssetPath?: string;
}

/**
 * The Lambda function that serves the `Custom::Spacelift*` resource types: the provider of
 * `template.yaml` as a construct, with its layer, role, idempotency table and log group.
 *
 * Hand it to the resource constructs of this app as `provider`, or set `exportName` so that other
 * stacks can `Fn.importValue` its ServiceToken.
 */
export class SpaceliftProvider extends Construct implements IServiceTokenProvider {
  /** The function's log group, kept for three months. */
  public readonly logGroup: logs.LogGroup;
  /** The Powertools Idempotency table (key `id`, expiry `expiration`). */
  public readonly table: dynamodb.Table;
  /** The function's execution role. */
  public readonly role: iam.Role;
  /** The layer with the function's dependencies. */
  public readonly layer: lambda.LayerVersion;
  /** The provider function. */
  public readonly function: lambda.Function;

  public constructor(scope: Construct, id: string, props: SpaceliftProviderProps) {
    super(scope, id);
    const logLevel = props.logLevel ?? 'INFO';
    const tracing = props.tracing ?? lambda.Tracing.PASS_THROUGH;
    if (!LOG_LEVELS.includes(logLevel)) {
      throw new Error(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
    }
    if (isLiteral(props.apiKeyEndpoint) && !props.apiKeyEndpoint.startsWith('https://')) {
      throw new Error(
        'apiKeyEndpoint must be an https:// URL such as https://acme.app.spacelift.io, '
        + `got ${JSON.stringify(props.apiKeyEndpoint)}`,
      );
    }
    if (isLiteral(props.apiKeyId) && props.apiKeyId.trim() === '') {
      throw new Error('apiKeyId must not be empty');
    }
    const functionCode = assetCode('functionAssetPath', props.functionAssetPath, 'function', 'app.py');
    const layerCode = assetCode('layerAssetPath', props.layerAssetPath, 'layer', 'python');

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      // Named like Lambda's own group when the function's name is known.
      logGroupName: props.functionName !== undefined ? `/aws/lambda/${props.functionName}` : undefined,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Powertools Idempotency (DynamoDBPersistenceLayer defaults: key "id", expiry "expiration").
    // Records live about an hour: deleted with the stack.
    this.table = new dynamodb.Table(this, 'IdempotencyTable', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiration',
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role: Lambda's default one gets AWSLambdaBasicExecutionRole, which may write to
    // every log group.
    this.role = new iam.Role(this, 'Role', {
      description: 'Execution role of the spacelift-cfn provider function',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    this.logGroup.grantWrite(this.role);
    // Only the calls Powertools Idempotency makes.
    this.table.grant(this.role, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    // Also grants kms:Decrypt (through Secrets Manager) when the secret has its own key.
    props.apiKeySecret.grantRead(this.role);

    this.layer = new lambda.LayerVersion(this, 'DependenciesLayer', {
      code: layerCode,
      compatibleRuntimes: [lambda.Runtime.PYTHON_3_13],
      compatibleArchitectures: [lambda.Architecture.ARM_64],
      description: 'Runtime dependencies of the spacelift-cfn provider (Powertools, crhelper, requests)',
      license: 'See the licenses of the packages in python/*.dist-info',
      // Only this function uses the layer, always its newest version.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      description: 'Serves the Custom::SpaceliftAwsIntegration* CloudFormation resource types',
      code: functionCode,
      handler: 'app.handler',
      runtime: lambda.Runtime.PYTHON_3_13,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 128,
      // Resources set ServiceTimeout to 150 s, a little above this.
      timeout: Duration.seconds(120),
      // Lambda's own default is PassThrough; given explicitly, CDK would grant X-Ray writes on "*"
      // even though nothing is traced (template.yaml grants them with Active only).
      tracing: tracing === lambda.Tracing.PASS_THROUGH ? undefined : tracing,
      role: this.role,
      layers: [this.layer],
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: logLevel as lambda.ApplicationLogLevel,
      // CloudFormation invokes asynchronously. Retries are safe (the provider is idempotent), but
      // none may start after CloudFormation stopped waiting (ServiceTimeout 150 s): see the
      // comment in template.yaml.
      retryAttempts: 2,
      maxEventAge: Duration.seconds(150),
      environment: {
        SPACELIFT_API_KEY_ENDPOINT: props.apiKeyEndpoint,
        SPACELIFT_API_KEY_ID: props.apiKeyId,
        // The full ARN when known; else the name, which GetSecretValue resolves more reliably
        // than a partial ARN.
        SPACELIFT_API_KEY_SECRET_ARN: props.apiKeySecret.secretFullArn ?? props.apiKeySecret.secretName,
        IDEMPOTENCY_TABLE: this.table.tableName,
        POWERTOOLS_SERVICE_NAME: 'spacelift-cfn',
        POWERTOOLS_LOG_LEVEL: logLevel,
        // The event holds the presigned ResponseURL: never log it.
        POWERTOOLS_LOGGER_LOG_EVENT: 'false',
        POWERTOOLS_METRICS_NAMESPACE: 'SpaceliftCfn',
        // The Tracer (and the X-Ray SDK) is imported only when this is "false".
        POWERTOOLS_TRACE_DISABLED: tracing === lambda.Tracing.ACTIVE ? 'false' : 'true',
      },
    });

    if (props.exportName !== undefined) {
      new CfnOutput(this, 'ServiceToken', {
        description: 'ServiceToken for the Custom::SpaceliftAwsIntegration* resources',
        value: this.serviceToken,
        exportName: props.exportName,
      });
    }
  }

  /** The ServiceToken of the `Custom::Spacelift*` resources: the function's ARN. */
  public get serviceToken(): string {
    return this.function.functionArn;
  }
}

/**
 * The asset of a folder given as `prop`, else of the one built into this package. Checked here:
 * a wrong folder would otherwise deploy a function that cannot start.
 */
function assetCode(prop: string, given: string | undefined, packaged: string, expected: string): lambda.Code {
  const folder = given ?? path.join(PACKAGED_ASSETS, packaged);
  if (!fs.existsSync(path.join(folder, expected))) {
    throw new Error(given !== undefined
      ? `${prop}: ${given} has no ${expected}; give the folder sam build made`
      : `This package has no built ${packaged} (${folder}): it was packaged without running make cdk; `
        + `give ${prop} instead`);
  }
  return lambda.Code.fromAsset(folder);
}
