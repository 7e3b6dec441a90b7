import { CustomResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { isLiteral } from './private/resource';
import { ExternalIdTarget } from './target';

/**
 * What an integration made in this app and an integration looked up by name share: the attributes
 * and the trust policy of the role Spacelift assumes, built from the external IDs the provider
 * returns for the stacks and modules in `externalIdsFor`.
 */
export abstract class SpaceliftAwsIntegrationBase extends Construct {
  /** The `Custom::Spacelift*` resource. */
  public abstract readonly resource: CustomResource;
  /** The ServiceToken the resource uses (attachments of this integration reuse it). */
  public abstract readonly serviceToken: string;
  /** The stacks and modules whose external IDs the resource returns, in order. */
  public abstract readonly externalIdsFor: ExternalIdTarget[];
  /** The integration's ID, for attachments. */
  public abstract readonly integrationId: string;

  /** Whether the role session is tagged, so the trust policy must also allow `sts:TagSession`. */
  protected abstract readonly tagsSession: boolean;

  /** The AWS account Spacelift assumes roles from: the trust policy's principal. */
  public get spaceliftAwsAccountId(): string {
    return this.resource.getAttString('SpaceliftAwsAccountId');
  }

  /** The integration's name. */
  public get name(): string {
    return this.resource.getAttString('Name');
  }

  /** The ARN of the role the integration assumes. */
  public get roleArn(): string {
    return this.resource.getAttString('RoleArn');
  }

  /** The ID of the space the integration is in (chosen by the server when `spaceId` was unset). */
  public get spaceId(): string {
    return this.resource.getAttString('SpaceId');
  }

  /**
   * The whole trust policy, as the JSON string the Spacelift API writes.
   *
   * For `new iam.CfnRole(this, 'Role', { assumeRolePolicyDocument: ... })`; the L2 `iam.Role` needs
   * a principal instead: use `trustPrincipal()`.
   */
  public get assumeRolePolicyDocument(): string {
    return this.resource.getAttString('AssumeRolePolicyDocument');
  }

  /**
   * The external ID Spacelift uses for a stack or module listed in `externalIdsFor`.
   *
   * Checked here, at synthesis, because an attribute that does not exist only fails at deploy time.
   */
  public externalId(projectId: string): string {
    if (!isLiteral(projectId)) {
      throw new Error('externalId() needs a literal stack or module ID, not a token.');
    }
    const listed = this.externalIdsFor.filter((target) => isLiteral(target.projectId));
    if (!listed.some((target) => target.projectId === projectId)) {
      const names = listed.map((target) => JSON.stringify(target.projectId)).join(', ') || 'none';
      throw new Error(`${JSON.stringify(projectId)} is not in externalIdsFor (listed: ${names}).`);
    }
    return this.resource.getAttString(`ExternalId.${projectId}`);
  }

  /** The external IDs of every `externalIdsFor` entry, in order. */
  public externalIds(): string[] {
    if (this.externalIdsFor.length === 0) {
      // Without an sts:ExternalId condition any Spacelift account could assume the role (the
      // confused deputy problem): never build such a policy.
      throw new Error(
        'externalIdsFor is empty: list the stacks and modules that use this integration, '
        + 'so that the trust policy can require their external IDs.',
      );
    }
    if (!this.externalIdsFor.every((target) => isLiteral(target.projectId))) {
      throw new Error(
        'An externalIdsFor entry is a token, so its ExternalId.<id> attribute cannot be named; '
        + 'use assumeRolePolicyDocument with iam.CfnRole instead.',
      );
    }
    return this.externalIdsFor.map((target) => this.externalId(target.projectId));
  }

  /**
   * The principal for `new iam.Role(this, 'Role', { assumedBy: ... })`: Spacelift's account, on
   * condition of the external IDs. With `tagAssumeRole` it also allows `sts:TagSession`, which
   * Spacelift needs to tag the session.
   */
  public trustPrincipal(): iam.IPrincipal {
    const principal = new iam.AccountPrincipal(this.spaceliftAwsAccountId).withConditions(this.conditions());
    return this.tagsSession ? principal.withSessionTags() : principal;
  }

  /** The statements of the role's trust policy, for a `PolicyDocument` of your own. */
  public trustPolicyStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        effect: iam.Effect.ALLOW,
        actions: this.tagsSession ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'],
        principals: [new iam.AccountPrincipal(this.spaceliftAwsAccountId)],
        conditions: this.conditions(),
      }),
    ];
  }

  /**
   * The role's whole trust policy: the role's `AssumeRolePolicyDocument`, for example
   * `new iam.CfnRole(this, 'Role', { assumeRolePolicyDocument: integration.trustPolicyDocument() })`.
   */
  public trustPolicyDocument(): iam.PolicyDocument {
    return new iam.PolicyDocument({ statements: this.trustPolicyStatements() });
  }

  private conditions(): { [operator: string]: any } {
    return { StringEquals: { 'sts:ExternalId': this.externalIds() } };
  }
}
