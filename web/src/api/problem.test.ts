import { describe, expect, it } from "vitest";
import { ApiError, errorMessage, fieldErrors, isProblem, isStale, STALE_MESSAGE } from "./problem";

const validation = {
  type: "/problems/validation-error",
  title: "Unprocessable Content",
  status: 422,
  detail: "2 fields are not valid",
  errors: [
    { loc: ["body", "name"], message: "bad name", type: "string_pattern_mismatch" },
    { loc: ["body", "config", "auto_scaling"], message: "min > max", type: "value_error" },
    { loc: ["body", "name"], message: "second message", type: "x" },
    { loc: ["query", "limit"], message: "too big", type: "x" },
  ],
};

describe("problem documents", () => {
  it("recognises a problem", () => {
    expect(isProblem(validation)).toBe(true);
    expect(isProblem({ detail: "no type" })).toBe(false);
    expect(isProblem(null)).toBe(false);
  });

  it("maps errors[].loc onto field names, first message wins", () => {
    expect(fieldErrors(ApiError.from(422, validation))).toEqual({
      name: "Bad name",
      "config.auto_scaling": "Min > max",
      limit: "Too big",
    });
    expect(fieldErrors(new Error("plain"))).toEqual({});
  });

  it("shows the detail, and the stale wording for 412", () => {
    const error = ApiError.from(422, validation);
    expect(error.kind).toBe("validation-error");
    expect(errorMessage(error)).toBe("2 fields are not valid");
    const stale = ApiError.from(412, {
      type: "/problems/precondition-failed",
      title: "Precondition Failed",
      status: 412,
    });
    expect(isStale(stale)).toBe(true);
    expect(errorMessage(stale)).toBe(STALE_MESSAGE);
  });

  it("wraps answers that are not problems", () => {
    const error = ApiError.from(502, "<html>bad gateway</html>", "Bad Gateway");
    expect(error.status).toBe(502);
    expect(error.problem.title).toBe("Bad Gateway");
    expect(errorMessage(ApiError.network(new TypeError("Failed to fetch")))).toContain(
      "could not be reached",
    );
  });
});
