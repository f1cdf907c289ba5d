/** RFC 9457 problem documents as the API returns them, and helpers to show them. */

export interface FieldError {
  loc: (string | number)[];
  message: string;
  type: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string | null;
  instance?: string | null;
  request_id?: string | null;
  errors?: FieldError[] | null;
}

export function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === "string" && typeof v.status === "number";
}

/** An error answer from the API (or a network failure, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = "ApiError";
    this.status = problem.status;
    this.problem = problem;
  }

  /** The problem kind without the /problems/ prefix, e.g. "precondition-failed". */
  get kind(): string {
    return this.problem.type.split("/").pop() ?? this.problem.type;
  }

  static from(status: number, body: unknown, statusText = ""): ApiError {
    if (isProblem(body)) return new ApiError(body);
    const detail = typeof body === "string" && body.length > 0 ? body.slice(0, 300) : null;
    return new ApiError({
      type: "about:blank",
      title: statusText || `HTTP ${status}`,
      status,
      detail,
    });
  }

  static network(cause: unknown): ApiError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ApiError({
      type: "network-error",
      title: "Network error",
      status: 0,
      detail: `The server could not be reached (${reason}).`,
    });
  }
}

/** The API writes messages in lower case ("the username or password is wrong"); show sentences. */
export function sentence(text: string): string {
  return text.length > 0 ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

const LOCATION_ROOTS = new Set(["body", "query", "path", "header", "cookie"]);

/**
 * Maps a problem's field errors onto form field names: `["body", "config", "auto_scaling",
 * "max_replicas"]` becomes `config.auto_scaling.max_replicas`. The first message per field wins.
 */
export function fieldErrors(error: unknown): Record<string, string> {
  const problem = error instanceof ApiError ? error.problem : isProblem(error) ? error : null;
  const out: Record<string, string> = {};
  for (const item of problem?.errors ?? []) {
    const parts = [...item.loc];
    if (parts.length > 0 && LOCATION_ROOTS.has(String(parts[0]))) parts.shift();
    const key = parts.map(String).join(".");
    if (key && !(key in out)) out[key] = sentence(item.message);
  }
  return out;
}

/** A sentence to show for any error thrown by a query or mutation. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 412) return STALE_MESSAGE;
    return sentence(error.problem.detail ?? error.problem.title);
  }
  if (error instanceof Error) return sentence(error.message);
  return "Something went wrong.";
}

export const STALE_MESSAGE =
  "Your change was not saved: this item changed after you opened it. Reload to see the latest version, then make your change again.";

export function isStale(error: unknown): boolean {
  return error instanceof ApiError && error.status === 412;
}
