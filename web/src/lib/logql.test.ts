import { describe, expect, it } from "vitest";
import {
  applySuggestion,
  completionAt,
  positionIndex,
  scan,
  suggestions,
  unquote,
  withMatcher,
  type LogCompletion,
} from "./logql";

/** The completion with the caret at `‸` in the text. */
function at(marked: string): LogCompletion | null {
  const caret = marked.indexOf("‸");
  return completionAt(marked.slice(0, caret) + marked.slice(caret + 1), caret);
}

/** Accept `label` at the `‸` caret: the new text with the new caret marked `‸`. */
function accept(marked: string, names: string[], values: string[], label: string): string {
  const caret = marked.indexOf("‸");
  const text = marked.slice(0, caret) + marked.slice(caret + 1);
  const c = completionAt(text, caret);
  if (!c) throw new Error("nothing to complete");
  const s = suggestions(c, names, values).find((x) => x.label === label);
  if (!s) throw new Error(`no suggestion ${label}`);
  const [next, nextCaret] = applySuggestion(text, c, caret, s);
  return next.slice(0, nextCaret) + "‸" + next.slice(nextCaret);
}

describe("scan", () => {
  it("reads names, operators, strings (escaped and raw) and braces", () => {
    expect(scan('{service=~"a\\"b", x!=`c`} |= "t" != "u" | json').map((t) => t.text)).toEqual([
      "{", "service", "=~", '"a\\"b"', ",", "x", "!=", "`c`", "}", "|=", '"t"', "!=", '"u"', "|", "json",
    ]);
  });

  it("runs an unterminated string to the end", () => {
    const tokens = scan('{a="b');
    expect(tokens.at(-1)).toMatchObject({ kind: "string", closed: false, text: '"b' });
    expect(unquote('"a\\"b"')).toBe('a"b');
  });
});

describe("completionAt", () => {
  it("completes label names after { and ,", () => {
    expect(at("{‸")).toEqual({ kind: "name", prefix: "", from: 1, wrap: false });
    expect(at('{service="x", ag‸')).toEqual({ kind: "name", prefix: "ag", from: 14, wrap: false });
  });

  it("completes a name typed without a selector by wrapping it in one", () => {
    expect(at("serv‸")).toEqual({ kind: "name", prefix: "serv", from: 0, wrap: true });
  });

  it("completes values after an operator and inside a started string", () => {
    expect(at("{service=‸")).toEqual({ kind: "value", name: "service", prefix: "", from: 9, open: false });
    expect(at('{severity=~"ER‸')).toEqual({ kind: "value", name: "severity", prefix: "ER", from: 12, open: true });
    expect(at('{a="b", agent!="sup‸"}')).toMatchObject({ kind: "value", name: "agent", prefix: "sup" });
  });

  it("completes line filters and parsers after the selector", () => {
    expect(at('{a="b"} |‸')).toEqual({ kind: "pipe", prefix: "|", from: 8 });
    expect(at('{a="b"} !‸')).toEqual({ kind: "pipe", prefix: "!", from: 8 });
    expect(at('{a="b"} | js‸')).toEqual({ kind: "parser", prefix: "js", from: 10 });
  });

  it("offers nothing inside a line filter's string or after a finished matcher", () => {
    expect(at('{a="b"} |= "time‸')).toBeNull();
    expect(at('{a="b"‸}')).toBeNull();
    expect(at('{a="b"} ‸')).toBeNull(); // after a space, until | or ! is typed
    expect(at("‸")).toBeNull();
  });
});

describe("suggestions and applying them", () => {
  const names = ["agent", "service", "severity"];

  it("goes from a name to its value and closes the string", () => {
    expect(accept("{se‸", names, [], "service")).toBe('{service="‸"');
    expect(accept('{service="‸"}', names, ["api", "worker"], "worker")).toBe('{service="worker"‸}');
    expect(accept("{service=‸", names, ['we"ird'], 'we"ird')).toBe('{service="we\\"ird"‸');
  });

  it("wraps a bare name in a selector", () => {
    expect(accept("ag‸", names, [], "agent")).toBe('{agent="‸"}');
  });

  it("inserts line filters with the caret between the quotes", () => {
    expect(accept('{a="b"} |‸', names, [], '|= "…"')).toBe('{a="b"} |= "‸"');
    expect(accept('{a="b"} | lo‸', names, [], "logfmt")).toBe('{a="b"} | logfmt‸');
  });

  it("ranks prefix matches before substring matches", () => {
    const c = completionAt("{ver", 4);
    expect(c && suggestions(c, ["server", "version", "x"], []).map((s) => s.label)).toEqual(["version", "server"]);
  });
});

describe("withMatcher", () => {
  it("creates a selector when there is none", () => {
    expect(withMatcher("", "service", "api")).toBe('{service="api"}');
    expect(withMatcher('|= "timeout"', "service", "api")).toBe('{service="api"} |= "timeout"');
  });

  it("adds a matcher to a selector, or replaces the value of the same name", () => {
    expect(withMatcher('{agent="a"} |= "x"', "severity", "ERROR")).toBe('{agent="a", severity="ERROR"} |= "x"');
    expect(withMatcher('{severity="INFO", agent="a"}', "severity", "ERROR")).toBe('{severity="ERROR", agent="a"}');
    expect(withMatcher("{}", "service", "api")).toBe('{service="api"}');
    expect(withMatcher('{service=~"a|b"}', "service", "c")).toBe('{service=~"a|b", service="c"}');
  });

  it("quotes values", () => {
    expect(withMatcher("", "path", 'C:\\dir "x"')).toBe('{path="C:\\\\dir \\"x\\""}');
  });
});

describe("positionIndex", () => {
  it("counts code points as the server does", () => {
    expect(positionIndex("abc", 1)).toBe(1);
    expect(positionIndex('{a="😀"} |= x', 8)).toBe(9); // the emoji is two UTF-16 units
    expect(positionIndex("ab", 10)).toBe(2);
  });
});
