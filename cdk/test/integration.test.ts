import { describe, expect, test } from '@jest/globals';
import { CfnParameter, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ExternalIdTarget } from '../lib';
import { INTEGRATION, TOKEN, logicalId, newStack, only, seedIntegration, trustStatement } from './support';

describe('the seed example', () => {
  const stack = newStack();
  const integration = seedIntegration(stack);
  new iam.Role(stack, 'Role', {
    roleName: 'my_role',
    assumedBy: integration.trustPrincipal(),
    maxSessionDuration: Duration.seconds(3600),
  });
  new iam.CfnRole(stack, 'DocumentRole', { assumeRolePolicyDocument: integration.trustPolicyDocument() });
  new iam.CfnRole(stack, 'ApiDocumentRole', { assumeRolePolicyDocument: integration.assumeRolePolicyDocument });
  const template = Template.fromStack(stack);
  const [integrationId, resource] = only(template, INTEGRATION);

  test('properties keep their CloudFormation names and native types; unset ones are left out', () => {
    expect(resource.Properties).toEqual({
      ServiceToken: { 'Fn::ImportValue': 'spacelift-cfn-ServiceToken' },
      ServiceTimeout: '150',
      Name: 'my_role',
      RoleArn: expect.anything(),
      // A number and a boolean, not strings: CloudFormation stringifies them on the way to the
      // provider, which reads both forms.
      DurationSeconds: 3600,
      Labels: ['team-infra'],
      ExternalIdsFor: [{ StackId: 'my-stack-id' }, { ModuleId: 'my-module-id', Write: false }],
    });
    expect(resource.DeletionPolicy).toBe('Delete');
  });

  test('the role ARN is built from the name, not from the role (no dependency cycle)', () => {
    expect(resource.Properties.RoleArn).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/my_role']],
    });
  });

  test("the role trusts Spacelift's account on condition of the external IDs", () => {
    const expected = { Version: '2012-10-17', Statement: [trustStatement(integrationId)] };
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'my_role',
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: expected,
    });
    const roles = template.findResources('AWS::IAM::Role');
    expect(roles.DocumentRole.Properties.AssumeRolePolicyDocument).toEqual(expected);
    expect(roles.ApiDocumentRole.Properties.AssumeRolePolicyDocument).toEqual({
      'Fn::GetAtt': [integrationId, 'AssumeRolePolicyDocument'],
    });
  });

  test('attributes', () => {
    const attribute = (value: string) => stack.resolve(value);
    expect(attribute(integration.integrationId)).toEqual({ Ref: integrationId });
    expect(attribute(integration.externalId('my-stack-id'))).toEqual({ 'Fn::GetAtt': [integrationId, 'ExternalId.my-stack-id'] });
    for (const [value, name] of [
      [integration.name, 'Name'],
      [integration.roleArn, 'RoleArn'],
      [integration.spaceId, 'SpaceId'],
      [integration.spaceliftAwsAccountId, 'SpaceliftAwsAccountId'],
    ]) {
      expect(attribute(value)).toEqual({ 'Fn::GetAtt': [integrationId, name] });
    }
  });
});

test('every property', () => {
  const stack = newStack();
  seedIntegration(stack, {
    serviceToken: TOKEN,
    externalId: 'custom',
    generateCredentialsInWorker: true,
    spaceId: 'root',
    region: 'eu-west-1',
    autoattachEnabled: false,
    tagAssumeRole: true,
    adoptIntegrationId: '01HXK5ZQ7M3N4P8R2S6T9V0W1X',
    serviceTimeout: Duration.minutes(5),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const [, resource] = only(Template.fromStack(stack), INTEGRATION);
  const { RoleArn, ExternalIdsFor, ...properties } = resource.Properties;
  expect(properties).toEqual({
    ServiceToken: TOKEN,
    ServiceTimeout: '300',
    Name: 'my_role',
    DurationSeconds: 3600,
    ExternalId: 'custom',
    GenerateCredentialsInWorker: true,
    Labels: ['team-infra'],
    SpaceId: 'root',
    Region: 'eu-west-1',
    AutoattachEnabled: false,
    TagAssumeRole: true,
    AdoptIntegrationId: '01HXK5ZQ7M3N4P8R2S6T9V0W1X',
  });
  expect(resource.DeletionPolicy).toBe('Retain');
});

test('a provider object gives the token', () => {
  const stack = newStack();
  seedIntegration(stack, { serviceToken: undefined, provider: { serviceToken: TOKEN } });
  expect(only(Template.fromStack(stack), INTEGRATION)[1].Properties.ServiceToken).toBe(TOKEN);
});

test('tagAssumeRole also allows sts:TagSession', () => {
  const stack = newStack();
  const integration = seedIntegration(stack, { tagAssumeRole: true });
  new iam.Role(stack, 'Role', { assumedBy: integration.trustPrincipal() });
  const [integrationId] = only(Template.fromStack(stack), INTEGRATION);
  expect(stack.resolve(integration.trustPolicyDocument().toJSON().Statement)).toEqual([
    trustStatement(integrationId, ['sts:AssumeRole', 'sts:TagSession']),
  ]);
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: {
      Statement: [Match.objectLike({
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: { StringEquals: { 'sts:ExternalId': Match.anyValue() } },
      })],
    },
  });
});

test('a token as a target: the trust methods refuse, the API document remains', () => {
  const stack = newStack();
  const parameter = new CfnParameter(stack, 'SpaceliftStackId');
  const integration = seedIntegration(stack, { externalIdsFor: [ExternalIdTarget.stack(parameter.valueAsString)] });
  expect(() => integration.trustPolicyStatements()).toThrow(/assumeRolePolicyDocument/);
  expect(stack.resolve(integration.assumeRolePolicyDocument)).toEqual({
    'Fn::GetAtt': [logicalId(stack, integration.resource), 'AssumeRolePolicyDocument'],
  });
});

test('tokens pass through unchecked', () => {
  const stack = newStack();
  const duration = new CfnParameter(stack, 'Duration', { type: 'Number' });
  const region = new CfnParameter(stack, 'Region');
  seedIntegration(stack, { durationSeconds: duration.valueAsNumber, region: region.valueAsString });
  const [, resource] = only(Template.fromStack(stack), INTEGRATION);
  expect(resource.Properties.DurationSeconds).toEqual({ Ref: 'Duration' });
  expect(resource.Properties.Region).toEqual({ Ref: 'Region' });
});

describe('mistakes fail at synthesis, naming the property', () => {
  test.each([
    ['no token', { serviceToken: undefined }, /exactly one of serviceToken/],
    ['token and provider', { provider: { serviceToken: TOKEN } }, /exactly one of serviceToken/],
    ['duration too short', { durationSeconds: 899 }, /durationSeconds must be a whole number between 900 and 43200, got 899/],
    ['duration too long', { durationSeconds: 43201 }, /durationSeconds must be .* got 43201/],
    ['duration not whole', { durationSeconds: 1000.5 }, /durationSeconds must be a whole number/],
    ['empty name', { name: ' ' }, /name must not be empty/],
    ['not a role ARN', { roleArn: 'arn:aws:iam::123:user/x' }, /roleArn must be an IAM role ARN/],
    ['not a region', { region: 'Europe' }, /region must be an AWS region/],
    ['empty label', { labels: ['ok', ''] }, /labels\[1\] must not be empty/],
    ['empty space', { spaceId: '' }, /spaceId must not be empty/],
    ['not an integration ID', { adoptIntegrationId: 'my-integration' }, /adoptIntegrationId must be the 26-character ID/],
    [
      'a target twice',
      { externalIdsFor: [ExternalIdTarget.stack('a'), ExternalIdTarget.module('a')] },
      /externalIdsFor lists "a" twice/,
    ],
  ])('%s', (_, overrides, message) => {
    expect(() => seedIntegration(newStack(), overrides)).toThrow(message);
  });

  test('the bounds themselves are accepted', () => {
    const stack = newStack();
    seedIntegration(stack, { durationSeconds: 900 }, 'Shortest');
    seedIntegration(stack, { durationSeconds: 43200 }, 'Longest');
    const durations = Object.values(Template.fromStack(stack).findResources(INTEGRATION)).map((r: any) => r.Properties.DurationSeconds);
    expect(durations).toEqual([900, 43200]);
  });

  test('an external ID that is not listed', () => {
    expect(() => seedIntegration(newStack()).externalId('other')).toThrow(
      '"other" is not in externalIdsFor (listed: "my-stack-id", "my-module-id").',
    );
  });

  test('a trust policy without external IDs', () => {
    const integration = seedIntegration(newStack(), { externalIdsFor: [] });
    expect(() => integration.trustPrincipal()).toThrow(/externalIdsFor is empty/);
    expect(() => integration.trustPolicyDocument()).toThrow(/externalIdsFor is empty/);
  });
});
