import { CustomResource } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { SpaceliftResourceProps } from './common';
import { SpaceliftAwsIntegrationBase } from './integration-base';
import { checkNotEmpty, customResource, resolveServiceToken } from './private/resource';
import { checkUnique } from './private/unique';
import { ExternalIdTarget } from './target';

/** Properties of a `SpaceliftAwsIntegrationLookup`. */
export interface SpaceliftAwsIntegrationLookupProps extends SpaceliftResourceProps {
  /** Name of the existing integration; exactly one integration of the account must have it. */
  readonly name: string;

  /**
   * Stacks and modules whose external IDs the resource returns as `ExternalId.<id>` and in
   * `AssumeRolePolicyDocument`. List every stack and module that will use the integration: the
   * trust policy methods admit exactly those.
   *
   * @default []
   */
  readonly externalIdsFor?: ExternalIdTarget[];
}

/**
 * An existing Spacelift AWS integration, found by name (`Custom::SpaceliftAwsIntegrationLookup`).
 *
 * Reads only: deleting the resource leaves the integration alone. For integrations made outside
 * the app (Spacelift UI, Terraform) whose role is defined here: it gives the same attributes and
 * trust policy methods as `SpaceliftAwsIntegration`. Those methods allow `sts:AssumeRole` only; for
 * an integration that tags its sessions, give an `iam.CfnRole` the API's own trust policy,
 * `assumeRolePolicyDocument`.
 */
export class SpaceliftAwsIntegrationLookup extends SpaceliftAwsIntegrationBase {
  /** The resource type this construct makes. */
  public static readonly RESOURCE_TYPE = 'Custom::SpaceliftAwsIntegrationLookup';

  public readonly resource: CustomResource;
  public readonly serviceToken: string;
  public readonly externalIdsFor: ExternalIdTarget[];
  protected readonly tagsSession = false;

  public constructor(scope: Construct, id: string, props: SpaceliftAwsIntegrationLookupProps) {
    super(scope, id);
    checkNotEmpty('name', props.name);
    this.externalIdsFor = [...(props.externalIdsFor ?? [])];
    checkUnique(this.externalIdsFor);
    this.serviceToken = resolveServiceToken(props.serviceToken, props.provider);
    this.resource = customResource(this, {
      resourceType: SpaceliftAwsIntegrationLookup.RESOURCE_TYPE,
      serviceToken: this.serviceToken,
      properties: {
        Name: props.name,
        ExternalIdsFor: this.externalIdsFor.length > 0
          ? this.externalIdsFor.map((target) => target.toProperties())
          : undefined,
      },
      serviceTimeout: props.serviceTimeout,
    });
  }

  /** The session duration the integration gives, in seconds (a string). */
  public get durationSeconds(): string {
    return this.resource.getAttString('DurationSeconds');
  }

  /** The integration's ID, for attachments. */
  public get integrationId(): string {
    return this.resource.getAttString('IntegrationId');
  }
}
