import { expect, test } from '@jest/globals';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ExternalIdTarget, SpaceliftAwsIntegrationAttachment, SpaceliftAwsIntegrationLookup } from '../lib';
import { ATTACHMENT, LOOKUP, TOKEN, newStack, only, trustStatement } from './support';

test('an existing integration by name: its attributes, a trust policy and an attachment', () => {
  const stack = newStack();
  const lookup = new SpaceliftAwsIntegrationLookup(stack, 'Existing', {
    serviceToken: TOKEN,
    name: 'made-in-the-ui',
    externalIdsFor: [ExternalIdTarget.stack('my-stack-id'), ExternalIdTarget.module('my-module-id', { write: false })],
  });
  new iam.Role(stack, 'Role', { assumedBy: lookup.trustPrincipal() });
  new SpaceliftAwsIntegrationAttachment(stack, 'Attachment', { integration: lookup, stackId: 'my-stack-id' });
  const template = Template.fromStack(stack);
  const [logicalId, resource] = only(template, LOOKUP);
  expect(resource.Properties).toEqual({
    ServiceToken: TOKEN,
    ServiceTimeout: '150',
    Name: 'made-in-the-ui',
    ExternalIdsFor: [{ StackId: 'my-stack-id' }, { ModuleId: 'my-module-id', Write: false }],
  });
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [trustStatement(logicalId)] },
  });
  expect(only(template, ATTACHMENT)[1].Properties).toEqual({
    ServiceToken: TOKEN,
    ServiceTimeout: '150',
    IntegrationId: { 'Fn::GetAtt': [logicalId, 'IntegrationId'] },
    StackId: 'my-stack-id',
  });
  expect(stack.resolve(lookup.roleArn)).toEqual({ 'Fn::GetAtt': [logicalId, 'RoleArn'] });
});

test.each([
  [{ serviceToken: TOKEN, name: '' }, 'name must not be empty'],
  [{ name: 'x' }, /exactly one of serviceToken/],
  [{ serviceToken: TOKEN, name: 'x', externalIdsFor: [ExternalIdTarget.stack('a'), ExternalIdTarget.stack('a')] }, /lists "a" twice/],
])('%j is refused', (props, message) => {
  expect(() => new SpaceliftAwsIntegrationLookup(newStack(), 'Existing', props)).toThrow(message);
});
