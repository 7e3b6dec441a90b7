import { Duration } from 'aws-cdk-lib';

/**
 * Anything that gives the ServiceToken of the `Custom::Spacelift*` resource types, such as a
 * `SpaceliftProvider` in the same app.
 */
export interface IServiceTokenProvider {
  /** The ServiceToken: the ARN of the provider function. */
  readonly serviceToken: string;
}

/**
 * Where a resource construct sends its requests, and how long CloudFormation waits.
 *
 * Give exactly one of `serviceToken` and `provider`.
 */
export interface SpaceliftResourceProps {
  /**
   * The ServiceToken of a provider deployed elsewhere, for example
   * `Fn.importValue('spacelift-cfn-ServiceToken')` (the SAM stack exports `<stack name>-ServiceToken`).
   *
   * @default - the token of `provider`; one of the two is required
   */
  readonly serviceToken?: string;

  /**
   * A provider in this app (a `SpaceliftProvider`), whose token the resource uses.
   *
   * @default - none: `serviceToken` is used; one of the two is required
   */
  readonly provider?: IServiceTokenProvider;

  /**
   * How long CloudFormation waits for the provider before failing the resource. The function times
   * out after 120 seconds, so a stuck request fails the stack in minutes rather than in an hour.
   *
   * @default Duration.seconds(150)
   */
  readonly serviceTimeout?: Duration;
}
