import { ArnFormat, CustomResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { SpaceliftResourceProps } from './common';
import { SpaceliftAwsIntegrationBase } from './integration-base';
import {
  checkMatches, checkNotEmpty, checkWholeNumberBetween, customResource, resolveServiceToken,
} from './private/resource';
import { checkUnique } from './private/unique';
import { ExternalIdTarget } from './target';

/** The role ARNs the provider accepts, in any partition. */
const ROLE_ARN = /arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}/;
/** The AWS region names the provider accepts. */
const REGION = /[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}/;
/** Spacelift's IDs: 26 characters of Crockford's base 32 (a ULID). */
const SPACELIFT_ID = /[0-9A-HJKMNP-TV-Z]{26}/;

/** Properties of a `SpaceliftAwsIntegration`: the resource type's properties in camel case. */
export interface SpaceliftAwsIntegrationProps extends SpaceliftResourceProps {
  /**
   * Name of the integration. Keep it unique in the Spacelift account: lookups by name expect one.
   */
  readonly name: string;

  /**
   * ARN of the IAM role Spacelift assumes, in any partition. Build it from the role's name with
   * `SpaceliftAwsIntegration.roleArnFor()`, not from `role.roleArn`: the role's trust policy needs
   * the integration's attributes, so the integration cannot also wait for the role.
   */
  readonly roleArn: string;

  /**
   * Lifetime of the assumed-role session in seconds (at most the role's MaxSessionDuration),
   * a whole number between 900 and 43200.
   *
   * @default 900
   */
  readonly durationSeconds?: number;

  /**
   * Custom external ID; only private workers use it.
   *
   * @default - none: Spacelift computes the external IDs
   */
  readonly externalId?: string;

  /**
   * Let private workers assume the role with their own credentials.
   *
   * @default false
   */
  readonly generateCredentialsInWorker?: boolean;

  /**
   * Labels of the integration (`autoattach:<label>` attaches it to stacks with that label).
   *
   * @default []
   */
  readonly labels?: string[];

  /**
   * ID (slug) of the Spacelift space, not its name.
   *
   * @default - the server chooses
   */
  readonly spaceId?: string;

  /**
   * AWS region whose regional STS endpoint Spacelift uses.
   *
   * @default - Spacelift uses the global STS endpoint
   */
  readonly region?: string;

  /**
   * Attach to stacks labelled `autoattach:<label>`.
   *
   * @default false
   */
  readonly autoattachEnabled?: boolean;

  /**
   * Tag the role session with run, stack and space. The trust policy methods then also allow
   * `sts:TagSession`.
   *
   * @default false
   */
  readonly tagAssumeRole?: boolean;

  /**
   * Stacks and modules whose external IDs the resource returns as `ExternalId.<id>` and in
   * `AssumeRolePolicyDocument`. List every stack and module that will use the integration: the
   * trust policy methods admit exactly those.
   *
   * @default []
   */
  readonly externalIdsFor?: ExternalIdTarget[];

  /**
   * ID of an existing integration (made in the Spacelift UI or by Terraform) that the Create takes
   * over instead of making a new one. Its ID and external IDs stay, and a Delete gives it back
   * instead of deleting it. Changing it replaces the resource.
   *
   * @default - none: the Create makes a new integration
   */
  readonly adoptIntegrationId?: string;

  /**
   * What happens to the integration when the resource leaves the stack.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A Spacelift AWS integration (`Custom::SpaceliftAwsIntegration`).
 *
 * Give exactly one of `serviceToken` (a provider deployed elsewhere, for example
 * `Fn.importValue('spacelift-cfn-ServiceToken')`) or `provider` (a `SpaceliftProvider` in this app).
 * An unset property is left out of the template, so that the provider's default applies.
 */
export class SpaceliftAwsIntegration extends SpaceliftAwsIntegrationBase {
  /** The resource type this construct makes. */
  public static readonly RESOURCE_TYPE = 'Custom::SpaceliftAwsIntegration';

  /**
   * The ARN a role named `roleName` will have in `scope`'s stack.
   *
   * Pass this, not `role.roleArn`, as `roleArn`: the role's trust policy needs the integration's
   * attributes, so the integration cannot also wait for the role (CloudFormation would report a
   * circular dependency).
   */
  public static roleArnFor(scope: Construct, roleName: string): string {
    return Stack.of(scope).formatArn({
      service: 'iam',
      region: '',
      resource: 'role',
      resourceName: roleName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  public readonly resource: CustomResource;
  public readonly serviceToken: string;
  public readonly externalIdsFor: ExternalIdTarget[];
  protected readonly tagsSession: boolean;

  public constructor(scope: Construct, id: string, props: SpaceliftAwsIntegrationProps) {
    super(scope, id);
    checkNotEmpty('name', props.name);
    checkMatches('roleArn', props.roleArn, ROLE_ARN, 'an IAM role ARN such as arn:aws:iam::123456789012:role/my_role');
    checkWholeNumberBetween('durationSeconds', props.durationSeconds, 900, 43200);
    (props.labels ?? []).forEach((label, index) => checkNotEmpty(`labels[${index}]`, label));
    checkNotEmpty('spaceId', props.spaceId);
    checkMatches('region', props.region, REGION, 'an AWS region such as eu-west-1');
    checkMatches('adoptIntegrationId', props.adoptIntegrationId, SPACELIFT_ID, 'the 26-character ID of a Spacelift AWS integration');
    this.externalIdsFor = [...(props.externalIdsFor ?? [])];
    checkUnique(this.externalIdsFor);
    this.serviceToken = resolveServiceToken(props.serviceToken, props.provider);
    this.tagsSession = props.tagAssumeRole === true;
    this.resource = customResource(this, {
      resourceType: SpaceliftAwsIntegration.RESOURCE_TYPE,
      serviceToken: this.serviceToken,
      properties: {
        Name: props.name,
        RoleArn: props.roleArn,
        DurationSeconds: props.durationSeconds,
        ExternalId: props.externalId,
        GenerateCredentialsInWorker: props.generateCredentialsInWorker,
        Labels: props.labels,
        SpaceId: props.spaceId,
        Region: props.region,
        AutoattachEnabled: props.autoattachEnabled,
        TagAssumeRole: props.tagAssumeRole,
        ExternalIdsFor: this.externalIdsFor.length > 0
          ? this.externalIdsFor.map((target) => target.toProperties())
          : undefined,
        AdoptIntegrationId: props.adoptIntegrationId,
      },
      serviceTimeout: props.serviceTimeout,
      removalPolicy: props.removalPolicy,
    });
  }

  /** The integration's ID (the resource's `Ref`), for attachments. */
  public get integrationId(): string {
    return this.resource.ref;
  }
}
