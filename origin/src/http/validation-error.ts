// The one wording of a request that fails its zod schema: `invalid <path>: <message>`, naming the
// first offending parameter, never zod's raw error object. Used by every router's validation hook
// (router.ts) and by handlers that validate outside hono (probe/checkin-direct/).

export interface ValidationIssue {
  path: readonly PropertyKey[];
  message: string;
}

export function validationError(
  issues: readonly ValidationIssue[],
  target?: string,
): { error: string; extra: { parameter: string; in?: string } } {
  const issue = issues[0];
  const param = issue?.path.map(String).join(".") || "body";
  return {
    error: `invalid ${param}: ${issue?.message ?? "invalid input"}`,
    extra: { parameter: param, ...(target ? { in: target } : {}) },
  };
}
