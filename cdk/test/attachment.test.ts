import { describe, expect, test } from '@jest/globals';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SpaceliftAwsIntegrationAttachment } from '../lib';
import { ATTACHMENT, INTEGRATION, TOKEN, logicalId, newStack, only, seedIntegration } from './support';

describe('attachments of the seed example', () => {
  const stack = newStack();
  const integration = seedIntegration(stack);
  const role = new iam.Role(stack, 'Role', { roleName: 'my_role', assumedBy: integration.trustPrincipal() });
  const attachments = [
    new SpaceliftAwsIntegrationAttachment(stack, 'StackAttachment', { integration, stackId: 'my-stack-id' }),
    new SpaceliftAwsIntegrationAttachment(stack, 'ModuleAttachment', { integration, moduleId: 'my-module-id', write: false }),
  ];
  attachments.forEach((attachment) => attachment.node.addDependency(role));
  const template = Template.fromStack(stack);
  const [integrationId] = only(template, INTEGRATION);
  const [roleId] = only(template, 'AWS::IAM::Role');

  test("use the integration's ID and token, and wait for the role", () => {
    template.resourceCountIs(ATTACHMENT, 2);
    const resources = template.findResources(ATTACHMENT);
    const [stackAttachment, moduleAttachment] = attachments.map((attachment) => resources[logicalId(stack, attachment.resource)]);
    expect(stackAttachment.Properties).toEqual({
      ServiceToken: { 'Fn::ImportValue': 'spacelift-cfn-ServiceToken' },
      ServiceTimeout: '150',
      IntegrationId: { Ref: integrationId },
      StackId: 'my-stack-id',
    });
    expect(moduleAttachment.Properties).toMatchObject({ ModuleId: 'my-module-id', Write: false });
    for (const resource of Object.values(resources)) {
      expect(resource.DependsOn).toEqual([roleId]);
      expect(resource.DeletionPolicy).toBe('Delete');
    }
  });

  test('attributes', () => {
    const id = logicalId(stack, attachments[0].resource);
    expect(stack.resolve(attachments[0].attachmentId)).toEqual({ 'Fn::GetAtt': [id, 'Id'] });
    expect(stack.resolve(attachments[0].externalId)).toEqual({ 'Fn::GetAtt': [id, 'ExternalId'] });
  });
});

test('an integration ID with a token of its own, and a removal policy', () => {
  const stack = newStack();
  new SpaceliftAwsIntegrationAttachment(stack, 'Attachment', {
    serviceToken: TOKEN,
    integrationId: '01HXINTEGRATION',
    moduleId: 'mod',
    read: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const [, resource] = only(Template.fromStack(stack), ATTACHMENT);
  expect(resource.Properties).toEqual({
    ServiceToken: TOKEN,
    ServiceTimeout: '150',
    IntegrationId: '01HXINTEGRATION',
    ModuleId: 'mod',
    Read: true,
  });
  expect(resource.DeletionPolicy).toBe('Retain');
});

test("a token given overrides the integration's", () => {
  const stack = newStack();
  const integration = seedIntegration(stack);
  new SpaceliftAwsIntegrationAttachment(stack, 'Attachment', { integration, provider: { serviceToken: TOKEN }, stackId: 's' });
  expect(only(Template.fromStack(stack), ATTACHMENT)[1].Properties.ServiceToken).toBe(TOKEN);
});

test.each([
  [{ integrationId: 'x', stackId: 's' }, /exactly one of serviceToken/],
  [{ serviceToken: TOKEN, stackId: 's' }, 'Pass exactly one of integration or integrationId.'],
  [{ serviceToken: TOKEN, integrationId: '', stackId: 's' }, 'integrationId must not be empty'],
  [{ serviceToken: TOKEN, integrationId: 'x' }, 'Set exactly one of stackId or moduleId.'],
  [{ serviceToken: TOKEN, integrationId: 'x', stackId: 's', read: false, write: false }, /at least one of read or write/],
])('%j is refused', (props, message) => {
  expect(() => new SpaceliftAwsIntegrationAttachment(newStack(), 'Attachment', props)).toThrow(message);
});
