import { App, CustomResource, Fn, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ExternalIdTarget, SpaceliftAwsIntegration, SpaceliftAwsIntegrationProps } from '../lib';

export const INTEGRATION = 'Custom::SpaceliftAwsIntegration';
export const ATTACHMENT = 'Custom::SpaceliftAwsIntegrationAttachment';
export const EXTERNAL_ID = 'Custom::SpaceliftAwsIntegrationExternalId';
export const LOOKUP = 'Custom::SpaceliftAwsIntegrationLookup';
export const TOKEN = 'arn:aws:lambda:us-east-1:123456789012:function:spacelift-cfn-provider';
export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spacelift-api-key-AbCdEf';

export function newStack(): Stack {
  return new Stack(new App(), 'Test');
}

/** The seed example's integration, with `overrides` on top. */
export function seedIntegration(
  stack: Stack,
  overrides: Partial<SpaceliftAwsIntegrationProps> = {},
  id = 'SpaceliftIntegration',
): SpaceliftAwsIntegration {
  return new SpaceliftAwsIntegration(stack, id, {
    serviceToken: Fn.importValue('spacelift-cfn-ServiceToken'),
    name: 'my_role',
    roleArn: SpaceliftAwsIntegration.roleArnFor(stack, 'my_role'),
    durationSeconds: 3600,
    labels: ['team-infra'],
    externalIdsFor: [
      ExternalIdTarget.stack('my-stack-id'),
      ExternalIdTarget.module('my-module-id', { write: false }),
    ],
    ...overrides,
  });
}

/** The logical ID CloudFormation will know `resource` by. */
export function logicalId(stack: Stack, resource: CustomResource): string {
  return stack.resolve(resource.ref).Ref;
}

/** The logical ID and body of the one resource of `type`; fails when there is not exactly one. */
export function only(template: Template, type: string): [string, any] {
  const resources = Object.entries(template.findResources(type));
  if (resources.length !== 1) {
    throw new Error(`expected one ${type}, found ${resources.length}`);
  }
  return resources[0];
}

/** The trust statement for the seed example's stack and module. */
export function trustStatement(integrationId: string, actions: string | string[] = 'sts:AssumeRole'): object {
  return {
    Effect: 'Allow',
    Action: actions,
    Principal: {
      AWS: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { 'Fn::GetAtt': [integrationId, 'SpaceliftAwsAccountId'] }, ':root']],
      },
    },
    Condition: {
      StringEquals: {
        'sts:ExternalId': [
          { 'Fn::GetAtt': [integrationId, 'ExternalId.my-stack-id'] },
          { 'Fn::GetAtt': [integrationId, 'ExternalId.my-module-id'] },
        ],
      },
    },
  };
}
