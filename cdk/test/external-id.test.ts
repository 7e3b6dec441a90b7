import { expect, test } from '@jest/globals';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SpaceliftAwsIntegrationExternalId } from '../lib';
import { EXTERNAL_ID, TOKEN, newStack, only } from './support';

test("reads an integration's external ID for a module, and trusts only that ID", () => {
  const stack = newStack();
  const external = new SpaceliftAwsIntegrationExternalId(stack, 'ExternalId', {
    provider: { serviceToken: TOKEN },
    integrationId: '01HXINTEGRATION',
    moduleId: 'mod',
    read: true,
  });
  new iam.Role(stack, 'Role', { assumedBy: external.trustPrincipal() });
  const template = Template.fromStack(stack);
  const [logicalId, resource] = only(template, EXTERNAL_ID);
  expect(resource.Properties).toEqual({
    ServiceToken: TOKEN,
    ServiceTimeout: '150',
    IntegrationId: '01HXINTEGRATION',
    ModuleId: 'mod',
    Read: true,
  });
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: {
      Statement: [Match.objectLike({
        Principal: { AWS: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [logicalId, 'SpaceliftAwsAccountId'] }])] }) },
        Condition: { StringEquals: { 'sts:ExternalId': [{ 'Fn::GetAtt': [logicalId, 'ExternalId'] }] } },
      })],
    },
  });
  expect(stack.resolve(external.assumeRolePolicyStatement)).toEqual({ 'Fn::GetAtt': [logicalId, 'AssumeRolePolicyStatement'] });
});

test.each([
  [{ integrationId: 'x', stackId: 's' }, /exactly one of serviceToken/],
  [{ serviceToken: TOKEN, integrationId: ' ', stackId: 's' }, 'integrationId must not be empty'],
  [{ serviceToken: TOKEN, integrationId: 'x', stackId: 's', moduleId: 'm' }, 'Set exactly one of stackId or moduleId.'],
])('%j is refused', (props, message) => {
  expect(() => new SpaceliftAwsIntegrationExternalId(newStack(), 'ExternalId', props)).toThrow(message);
});
