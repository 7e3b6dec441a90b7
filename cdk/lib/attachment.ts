import { CustomResource, RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { SpaceliftResourceProps } from './common';
import { SpaceliftAwsIntegrationBase } from './integration-base';
import { checkNotEmpty, customResource, resolveServiceToken } from './private/resource';
import { ExternalIdTarget, ExternalIdTargetProps } from './target';

/** Properties of a `SpaceliftAwsIntegrationAttachment`. */
export interface SpaceliftAwsIntegrationAttachmentProps extends SpaceliftResourceProps, ExternalIdTargetProps {
  /**
   * The integration to attach: a `SpaceliftAwsIntegration` or a `SpaceliftAwsIntegrationLookup`
   * of this app. Its service token is reused unless `serviceToken` or `provider` is given.
   *
   * @default - none: `integrationId` is required
   */
  readonly integration?: SpaceliftAwsIntegrationBase;

  /**
   * ID of the integration to attach. Then `serviceToken` or `provider` is required.
   *
   * @default - the ID of `integration`
   */
  readonly integrationId?: string;

  /**
   * What happens to the attachment when the resource leaves the stack.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Attaches an integration to a Spacelift stack (`stackId`) or module (`moduleId`)
 * (`Custom::SpaceliftAwsIntegrationAttachment`).
 *
 * Spacelift tries to assume the role when attaching, so make the attachment depend on the role:
 * `attachment.node.addDependency(role)`.
 */
export class SpaceliftAwsIntegrationAttachment extends Construct {
  /** The resource type this construct makes. */
  public static readonly RESOURCE_TYPE = 'Custom::SpaceliftAwsIntegrationAttachment';

  /** The `Custom::SpaceliftAwsIntegrationAttachment` resource. */
  public readonly resource: CustomResource;
  /** The ServiceToken the resource uses. */
  public readonly serviceToken: string;
  /** The stack or module the integration is attached to. */
  public readonly target: ExternalIdTarget;

  public constructor(scope: Construct, id: string, props: SpaceliftAwsIntegrationAttachmentProps) {
    super(scope, id);
    if ((props.integration === undefined) === (props.integrationId === undefined)) {
      throw new Error('Pass exactly one of integration or integrationId.');
    }
    checkNotEmpty('integrationId', props.integrationId);
    this.target = new ExternalIdTarget(props);
    const inherited = props.serviceToken === undefined && props.provider === undefined
      ? props.integration?.serviceToken
      : undefined;
    this.serviceToken = resolveServiceToken(props.serviceToken ?? inherited, props.provider);
    this.resource = customResource(this, {
      resourceType: SpaceliftAwsIntegrationAttachment.RESOURCE_TYPE,
      serviceToken: this.serviceToken,
      properties: {
        IntegrationId: props.integrationId ?? props.integration!.integrationId,
        ...this.target.toProperties(),
      },
      serviceTimeout: props.serviceTimeout,
      removalPolicy: props.removalPolicy,
    });
  }

  /** Spacelift's ID of the attachment. */
  public get attachmentId(): string {
    return this.resource.getAttString('Id');
  }

  /** The external ID Spacelift uses when it assumes the role for this stack or module. */
  public get externalId(): string {
    return this.resource.getAttString('ExternalId');
  }
}
