// Every error the project answers with, edge or origin, is a JSON object with at least `error`.
export interface ErrorBody {
  error: string;
  [extra: string]: unknown;
}
