import { isLiteral } from './private/resource';

/** The access an integration gives a stack or module. */
export interface TargetAccess {
  /**
   * Use the integration for read phases (planning).
   *
   * @default true
   */
  readonly read?: boolean;

  /**
   * Use the integration for write phases (applying).
   *
   * @default true
   */
  readonly write?: boolean;
}

/** A Spacelift stack or module, and the access an integration gives it. */
export interface ExternalIdTargetProps extends TargetAccess {
  /**
   * ID (slug) of a Spacelift stack. Set this or `moduleId`.
   *
   * @default - none: `moduleId` is set
   */
  readonly stackId?: string;

  /**
   * ID of a Spacelift module. Set this or `stackId`.
   *
   * @default - none: `stackId` is set
   */
  readonly moduleId?: string;
}

/**
 * A Spacelift stack or module, and the access an integration gives it: one `ExternalIdsFor` entry
 * (`StackId` or `ModuleId`, `Read`, `Write`).
 *
 * `read` and `write` left unset are omitted from the template, so that the provider's defaults
 * (both true) apply. Build one with `ExternalIdTarget.stack()` or `ExternalIdTarget.module()`.
 */
export class ExternalIdTarget {
  /** A Spacelift stack, by its ID (slug). */
  public static stack(stackId: string, access: TargetAccess = {}): ExternalIdTarget {
    return new ExternalIdTarget({ stackId, ...access });
  }

  /** A Spacelift module, by its ID. */
  public static module(moduleId: string, access: TargetAccess = {}): ExternalIdTarget {
    return new ExternalIdTarget({ moduleId, ...access });
  }

  /** The stack's ID, when this target is a stack. */
  public readonly stackId?: string;
  /** The module's ID, when this target is a module. */
  public readonly moduleId?: string;
  /** Read access, when set. */
  public readonly read?: boolean;
  /** Write access, when set. */
  public readonly write?: boolean;

  public constructor(props: ExternalIdTargetProps) {
    if ((props.stackId === undefined) === (props.moduleId === undefined)) {
      throw new Error('Set exactly one of stackId or moduleId.');
    }
    for (const [prop, value] of [['stackId', props.stackId], ['moduleId', props.moduleId]] as const) {
      if (value !== undefined && isLiteral(value) && value.trim() === '') {
        throw new Error(`${prop} must not be empty`);
      }
    }
    if (props.read === false && props.write === false) {
      throw new Error(`${props.stackId ?? props.moduleId}: at least one of read or write must be true.`);
    }
    this.stackId = props.stackId;
    this.moduleId = props.moduleId;
    this.read = props.read;
    this.write = props.write;
  }

  /** The stack or module ID: the key of the `ExternalId.<id>` attribute. */
  public get projectId(): string {
    return this.stackId ?? this.moduleId!;
  }

  /** The `ExternalIdsFor` entry, with booleans kept as booleans and unset access left out. */
  public toProperties(): { [name: string]: any } {
    const properties: { [name: string]: any } = this.stackId !== undefined
      ? { StackId: this.stackId }
      : { ModuleId: this.moduleId };
    if (this.read !== undefined) {
      properties.Read = this.read;
    }
    if (this.write !== undefined) {
      properties.Write = this.write;
    }
    return properties;
  }
}
