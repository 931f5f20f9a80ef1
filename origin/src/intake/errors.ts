import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * A submission we refuse, with the status and JSON body the client gets. `error` is a short,
 * stable code or phrase (the legacy and newer OONI services' wording where one exists); `extra`
 * carries details such as `message`.
 */
export class IntakeError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(typeof extra.message === "string" ? `${error}: ${extra.message}` : error);
    this.name = "IntakeError";
  }
}

export const incorrectFormat = (message: string) => new IntakeError(400, "Incorrect format", { message });
export const inconsistent = (message: string) => new IntakeError(400, "Inconsistent measurement", { message });
