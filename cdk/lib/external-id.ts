import { CustomResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { SpaceliftResourceProps } from './common';
import { checkNotEmpty, customResource, resolveServiceToken } from './private/resource';
import { ExternalIdTarget, ExternalIdTargetProps } from './target';

/** Properties of a `SpaceliftAwsIntegrationExternalId`. */
export interface SpaceliftAwsIntegrationExternalIdProps extends SpaceliftResourceProps, ExternalIdTargetProps {
  /** ID of an existing Spacelift AWS integration. */
  readonly integrationId: string;
}

/**
 * The external ID of an integration for one stack or module
 * (`Custom::SpaceliftAwsIntegrationExternalId`); reads only, deletes nothing.
 *
 * For an integration made outside the app (Spacelift UI, Terraform) whose role is defined here; an
 * integration made in the app returns its external IDs itself.
 */
export class SpaceliftAwsIntegrationExternalId extends Construct {
  /** The resource type this construct makes. */
  public static readonly RESOURCE_TYPE = 'Custom::SpaceliftAwsIntegrationExternalId';

  /** The `Custom::SpaceliftAwsIntegrationExternalId` resource. */
  public readonly resource: CustomResource;
  /** The ServiceToken the resource uses. */
  public readonly serviceToken: string;
  /** The stack or module whose external ID is read. */
  public readonly target: ExternalIdTarget;

  public constructor(scope: Construct, id: string, props: SpaceliftAwsIntegrationExternalIdProps) {
    super(scope, id);
    checkNotEmpty('integrationId', props.integrationId);
    this.target = new ExternalIdTarget(props);
    this.serviceToken = resolveServiceToken(props.serviceToken, props.provider);
    this.resource = customResource(this, {
      resourceType: SpaceliftAwsIntegrationExternalId.RESOURCE_TYPE,
      serviceToken: this.serviceToken,
      properties: { IntegrationId: props.integrationId, ...this.target.toProperties() },
      serviceTimeout: props.serviceTimeout,
    });
  }

  /** The external ID Spacelift uses for the stack or module. */
  public get externalId(): string {
    return this.resource.getAttString('ExternalId');
  }

  /** The AWS account Spacelift assumes roles from. */
  public get spaceliftAwsAccountId(): string {
    return this.resource.getAttString('SpaceliftAwsAccountId');
  }

  /** The API's trust statement, as a JSON string. */
  public get assumeRolePolicyStatement(): string {
    return this.resource.getAttString('AssumeRolePolicyStatement');
  }

  /** The principal for `new iam.Role(this, 'Role', { assumedBy: ... })`, requiring this external ID. */
  public trustPrincipal(): iam.IPrincipal {
    return new iam.AccountPrincipal(this.spaceliftAwsAccountId).withConditions({
      StringEquals: { 'sts:ExternalId': [this.externalId] },
    });
  }
}
