import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, test } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SpaceliftProvider, SpaceliftProviderProps } from '../lib';
import { INTEGRATION, SECRET_ARN, only, seedIntegration } from './support';

function providerStack(props: Partial<SpaceliftProviderProps> = {}, outdir?: string): [Stack, SpaceliftProvider] {
  const stack = new Stack(new App({ outdir }), 'Provider');
  const provider = new SpaceliftProvider(stack, 'Provider', {
    apiKeyEndpoint: 'https://acme.app.spacelift.io',
    apiKeyId: '01APIKEY',
    apiKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'ApiKeySecret', SECRET_ARN),
    ...props,
  });
  return [stack, provider];
}

const statements = (template: Template): any[] => Object.values(template.findResources('AWS::IAM::Policy'))
  .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
const actions = (statement: any): string[] => [statement.Action].flat();

describe('a provider with the assets built into the package', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'spacelift-cfn-cdk-'));
  const [stack, provider] = providerStack({ functionName: 'spacelift-cfn-provider', exportName: 'spacelift-cfn-ServiceToken' }, outdir);
  seedIntegration(stack, { serviceToken: undefined, provider });
  const template = Template.fromStack(stack);
  const [functionId, fn] = only(template, 'AWS::Lambda::Function');
  const [layerId] = only(template, 'AWS::Lambda::LayerVersion');
  const [tableId] = only(template, 'AWS::DynamoDB::Table');
  const [logGroupId] = only(template, 'AWS::Logs::LogGroup');

  test("the function's settings are template.yaml's", () => {
    expect(fn.Properties).toMatchObject({
      Runtime: 'python3.13',
      Architectures: ['arm64'],
      Handler: 'app.handler',
      MemorySize: 128,
      Timeout: 120,
      FunctionName: 'spacelift-cfn-provider',
      Layers: [{ Ref: layerId }],
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', LogGroup: { Ref: logGroupId } },
    });
    expect(fn.Properties.Environment.Variables).toEqual({
      SPACELIFT_API_KEY_ENDPOINT: 'https://acme.app.spacelift.io',
      SPACELIFT_API_KEY_ID: '01APIKEY',
      SPACELIFT_API_KEY_SECRET_ARN: SECRET_ARN,
      IDEMPOTENCY_TABLE: { Ref: tableId },
      POWERTOOLS_SERVICE_NAME: 'spacelift-cfn',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_LOGGER_LOG_EVENT: 'false',
      POWERTOOLS_METRICS_NAMESPACE: 'SpaceliftCfn',
      POWERTOOLS_TRACE_DISABLED: 'true',
    });
    expect(fn.Properties.TracingConfig).toBeUndefined(); // Lambda's default, PassThrough
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId }, MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 150,
    });
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleRuntimes: ['python3.13'], CompatibleArchitectures: ['arm64'],
    });
  });

  test('the idempotency table, the log group and the exported ServiceToken', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/lambda/spacelift-cfn-provider', RetentionInDays: 90 });
    template.hasOutput('*', { Value: { 'Fn::GetAtt': [functionId, 'Arn'] }, Export: { Name: 'spacelift-cfn-ServiceToken' } });
    expect(only(template, INTEGRATION)[1].Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [functionId, 'Arn'] });
  });

  test('the role may do what the function needs, nothing more', () => {
    const [, role] = only(template, 'AWS::IAM::Role');
    // No AWSLambdaBasicExecutionRole: it may write to every log group.
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const all = statements(template);
    const secrets = all.filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secrets).toHaveLength(1);
    expect(actions(secrets[0])).toContain('secretsmanager:GetSecretValue');
    expect(secrets[0].Resource).toBe(SECRET_ARN);
    const dynamodb = all.find((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
    expect(actions(dynamodb).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    const logs = all.find((s) => actions(s).some((a) => a.startsWith('logs:')));
    expect(JSON.stringify(logs.Resource)).toContain(logGroupId); // its own log group only
    expect(all.every((s) => s.Resource !== '*')).toBe(true);
  });

  test("the assets are the package's built function and layer", () => {
    const assets = fs.readdirSync(outdir).filter((name) => name.startsWith('asset.')).map((name) => path.join(outdir, name));
    const functionAsset = assets.find((folder) => fs.existsSync(path.join(folder, 'app.py')))!;
    const layerAsset = assets.find((folder) => fs.existsSync(path.join(folder, 'python')))!;
    expect(fs.existsSync(path.join(functionAsset, 'spacelift_cfn', 'handler.py'))).toBe(true);
    expect(fs.readdirSync(path.join(functionAsset, 'spacelift_cfn', '__pycache__'))).toContain('handler.cpython-313.pyc');
    expect(fs.existsSync(path.join(functionAsset, 'Makefile'))).toBe(false);
    for (const name of ['aws_lambda_powertools', 'crhelper', 'requests']) {
      expect(fs.existsSync(path.join(layerAsset, 'python', name))).toBe(true);
    }
    // The runtime provides boto3; the layer never carries a second copy.
    expect(fs.existsSync(path.join(layerAsset, 'python', 'boto3'))).toBe(false);
    expect(fn.Properties.Code.S3Key).toBe(`${path.basename(functionAsset).slice('asset.'.length)}.zip`);
  });
});

test('active tracing turns the Tracer on and lets the function write traces', () => {
  const [stack] = providerStack({ tracing: lambda.Tracing.ACTIVE });
  const template = Template.fromStack(stack);
  const [, fn] = only(template, 'AWS::Lambda::Function');
  expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  expect(fn.Properties.Environment.Variables.POWERTOOLS_TRACE_DISABLED).toBe('false');
  const xray = statements(template).find((s) => actions(s).includes('xray:PutTraceSegments'));
  expect(actions(xray)).toEqual(expect.arrayContaining(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']));
});

test('folders built elsewhere, a secret by name, another log level', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'spacelift-cfn-prebuilt-'));
  fs.mkdirSync(path.join(folder, 'function'));
  fs.writeFileSync(path.join(folder, 'function', 'app.py'), 'def handler(event, context): ...\n');
  fs.mkdirSync(path.join(folder, 'layer', 'python'), { recursive: true });
  const stack = new Stack(new App(), 'Prebuilt');
  new SpaceliftProvider(stack, 'Provider', {
    apiKeyEndpoint: 'https://acme.app.spacelift.io',
    apiKeyId: '01APIKEY',
    apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'spacelift-api-key'),
    functionAssetPath: path.join(folder, 'function'),
    layerAssetPath: path.join(folder, 'layer'),
    logLevel: 'DEBUG',
  });
  const [, fn] = only(Template.fromStack(stack), 'AWS::Lambda::Function');
  // A secret imported by name is passed by name (a partial ARN is ambiguous).
  expect(fn.Properties.Environment.Variables).toMatchObject({
    SPACELIFT_API_KEY_SECRET_ARN: 'spacelift-api-key',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
  expect(fn.Properties.LoggingConfig.ApplicationLogLevel).toBe('DEBUG');
});

test.each([
  [{ apiKeyEndpoint: 'http://acme.app.spacelift.io' }, /apiKeyEndpoint must be an https:\/\/ URL/],
  [{ logLevel: 'VERBOSE' }, 'logLevel must be one of DEBUG, INFO, WARN, ERROR, got "VERBOSE"'],
  [{ apiKeyId: '' }, 'apiKeyId must not be empty'],
  [{ functionAssetPath: os.tmpdir() }, /functionAssetPath: .* has no app.py/],
  [{ layerAssetPath: os.tmpdir() }, /layerAssetPath: .* has no python/],
])('%j is refused', (props, message) => {
  expect(() => providerStack(props)).toThrow(message);
});
