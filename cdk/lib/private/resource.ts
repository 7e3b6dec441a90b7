import { CustomResource, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { IServiceTokenProvider } from '../common';

/**
 * CloudFormation stops waiting for the provider after this long. The provider function times out
 * after 120 s, so a stuck request fails the stack in minutes, not after CloudFormation's default
 * hour (template.yaml's example resources use 150 too).
 */
export const DEFAULT_SERVICE_TIMEOUT = Duration.seconds(150);

/** True when `value` is known at synthesis time (not a token such as a parameter or an attribute). */
export function isLiteral(value: unknown): boolean {
  return !Token.isUnresolved(value);
}

/** The ServiceToken from exactly one of an imported token or a provider in this app. */
export function resolveServiceToken(serviceToken: string | undefined, provider: IServiceTokenProvider | undefined): string {
  if ((serviceToken === undefined) === (provider === undefined)) {
    throw new Error(
      "Pass exactly one of serviceToken (for example Fn.importValue('spacelift-cfn-ServiceToken')) "
      + 'or provider (a SpaceliftProvider).',
    );
  }
  return provider !== undefined ? provider.serviceToken : serviceToken!;
}

export interface CustomResourceOptions {
  readonly resourceType: string;
  readonly serviceToken: string;
  readonly properties: { [name: string]: unknown };
  readonly serviceTimeout?: Duration;
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The `Custom::Spacelift*` resource, as the construct's default child `Resource`.
 *
 * Properties keep their CloudFormation names and native types: CDK writes `3600` and `false` into
 * the template, CloudFormation sends them to the provider as strings, and the provider reads both
 * forms. Unset properties are left out so that the provider's defaults apply.
 */
export function customResource(scope: Construct, options: CustomResourceOptions): CustomResource {
  const properties: { [name: string]: unknown } = {};
  for (const [name, value] of Object.entries(options.properties)) {
    if (value !== undefined) {
      properties[name] = value;
    }
  }
  return new CustomResource(scope, 'Resource', {
    serviceToken: options.serviceToken,
    resourceType: options.resourceType,
    properties,
    serviceTimeout: options.serviceTimeout ?? DEFAULT_SERVICE_TIMEOUT,
    removalPolicy: options.removalPolicy,
  });
}

/** A clear error for a literal string property that is empty. */
export function checkNotEmpty(prop: string, value: string | undefined): void {
  if (value !== undefined && isLiteral(value) && value.trim() === '') {
    throw new Error(`${prop} must not be empty`);
  }
}

/** A clear error for a literal string property that does not match `pattern` (anchored). */
export function checkMatches(prop: string, value: string | undefined, pattern: RegExp, expected: string): void {
  if (value !== undefined && isLiteral(value) && !new RegExp(`^(?:${pattern.source})$`).test(value)) {
    throw new Error(`${prop} must be ${expected}, got ${JSON.stringify(value)}`);
  }
}

/** A clear error for a literal number property that is not a whole number within the bounds. */
export function checkWholeNumberBetween(prop: string, value: number | undefined, low: number, high: number): void {
  if (value === undefined || !isLiteral(value)) {
    return;
  }
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new Error(`${prop} must be a whole number between ${low} and ${high}, got ${value}`);
  }
}
