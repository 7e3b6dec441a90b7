import type { ExternalIdTarget } from '../target';
import { isLiteral } from './resource';

/** A clear error when two `externalIdsFor` entries name the same stack or module. */
export function checkUnique(targets: ExternalIdTarget[]): void {
  const seen = new Set<string>();
  for (const target of targets) {
    if (!isLiteral(target.projectId)) {
      continue;
    }
    if (seen.has(target.projectId)) {
      throw new Error(`externalIdsFor lists ${JSON.stringify(target.projectId)} twice`);
    }
    seen.add(target.projectId);
  }
}
