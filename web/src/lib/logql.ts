/**
 * The LogQL subset of the Logs page (docs/logs.md): a small scanner, what to complete at the
 * caret (label names, label values, line filters, parsers), editing the stream selector when a
 * line's service or a severity is picked as a filter, and where a server error points.
 *
 * The server parses the query; this only reads enough of it to help while typing.
 */

export const MATCH_OPS = ["=~", "!~", "!=", "="] as const;
const OPS = ["|=", "|~", "!=", "!~", "=~", "==", "=", "|"] as const;
const NAME = /[A-Za-z_][A-Za-z0-9_.:/-]*/y;

export interface Token {
  kind: "{" | "}" | "," | "op" | "name" | "string" | "other";
  text: string;
  start: number;
  end: number;
  /** Strings only: false while the closing quote is missing. */
  closed?: boolean;
}

/** The tokens of `text` (whitespace left out); an unterminated string runs to the end. */
export function scan(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === '"' || c === "`") {
      let j = i + 1;
      let closed = false;
      while (j < text.length) {
        const d = text.charAt(j);
        if (c === '"' && d === "\\") {
          j += 2;
          continue;
        }
        if (d === c) {
          closed = true;
          j += 1;
          break;
        }
        j += 1;
      }
      const end = Math.min(j, text.length);
      tokens.push({ kind: "string", text: text.slice(i, end), start: i, end, closed });
      i = end;
      continue;
    }
    if (c === "{" || c === "}" || c === ",") {
      tokens.push({ kind: c, text: c, start: i, end: i + 1 });
      i += 1;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ kind: "op", text: op, start: i, end: i + op.length });
      i += op.length;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(text);
    if (name) {
      tokens.push({ kind: "name", text: name[0], start: i, end: i + name[0].length });
      i += name[0].length;
      continue;
    }
    tokens.push({ kind: "other", text: c, start: i, end: i + 1 });
    i += 1;
  }
  return tokens;
}

/** The text a string token stands for (quotes removed, `\"` and `\\` undone). */
export function unquote(token: string): string {
  const quote = token.charAt(0);
  let body = token.slice(1);
  if (body.endsWith(quote) && body.length > 0) body = body.slice(0, -1);
  return quote === '"' ? body.replace(/\\(["\\])/g, "$1") : body;
}

/** `value` as a double-quoted LogQL string. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

export type LogCompletion =
  /** A label or field name inside `{…}`; `wrap`: no selector yet, so insert one around it. */
  | { kind: "name"; prefix: string; from: number; wrap: boolean }
  /** A value of `name` after its operator; `open`: the caret is inside a started string. */
  | { kind: "value"; name: string; prefix: string; from: number; open: boolean }
  /** A line filter or parser after the selector, once `|` or `!` is typed. */
  | { kind: "pipe"; prefix: string; from: number }
  /** `json` / `logfmt` after `|`. */
  | { kind: "parser"; prefix: string; from: number };

/** What is being typed at `caret`, or null when there is nothing to complete. */
export function completionAt(text: string, caret: number): LogCompletion | null {
  const tokens = scan(text.slice(0, caret));
  const last = tokens.at(-1);
  if (!last) return null;
  const prev = tokens.at(-2);
  const before = tokens.at(-3);
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === "{") depth = 1;
    else if (t.kind === "}") depth = 0;
  }
  const touching = last.end === caret;
  if (last.kind === "string") {
    if (last.closed) return null;
    if (depth && prev?.kind === "op" && isMatchOp(prev.text) && before?.kind === "name") {
      return { kind: "value", name: before.text, prefix: unquote(last.text), from: last.start + 1, open: true };
    }
    return null;
  }
  if (depth) {
    if (last.kind === "{" || last.kind === ",") return { kind: "name", prefix: "", from: caret, wrap: false };
    if (last.kind === "name" && touching && (prev?.kind === "{" || prev?.kind === ",")) {
      return { kind: "name", prefix: last.text, from: last.start, wrap: false };
    }
    if (last.kind === "op" && isMatchOp(last.text) && prev?.kind === "name") {
      return { kind: "value", name: prev.text, prefix: "", from: caret, open: false };
    }
    return null;
  }
  if (!touching) return null;
  if (last.kind === "name" && tokens.length === 1) {
    return { kind: "name", prefix: last.text, from: last.start, wrap: true };
  }
  if (last.kind === "name" && prev?.kind === "op" && prev.text === "|") {
    return { kind: "parser", prefix: last.text, from: last.start };
  }
  const partialOp = last.kind === "op" || (last.kind === "other" && last.text === "!");
  if (partialOp && (last.text.startsWith("|") || last.text.startsWith("!")) && tokens.length > 1) {
    return { kind: "pipe", prefix: last.text, from: last.start };
  }
  return null;
}

function isMatchOp(op: string): boolean {
  return (MATCH_OPS as readonly string[]).includes(op);
}

export interface Suggestion {
  /** What the list shows. */
  label: string;
  /** What replaces the typed prefix. */
  insert: string;
  /** Where the caret goes, as an offset into `insert`. */
  caret: number;
  detail?: string;
}

const PIPES: Suggestion[] = [
  { label: '|= "…"', insert: '|= ""', caret: 4, detail: "line contains" },
  { label: '!= "…"', insert: '!= ""', caret: 4, detail: "line does not contain" },
  { label: '|~ "…"', insert: '|~ ""', caret: 4, detail: "line matches regex" },
  { label: '!~ "…"', insert: '!~ ""', caret: 4, detail: "line does not match regex" },
  { label: "| json", insert: "| json", caret: 6, detail: "parse JSON fields" },
  { label: "| logfmt", insert: "| logfmt", caret: 8, detail: "parse logfmt fields" },
];

/** Candidates starting with the prefix, then containing it (case-insensitive), at most `limit`. */
export function rank(prefix: string, candidates: readonly string[], limit = 10): string[] {
  const p = prefix.toLowerCase();
  const starts = candidates.filter((c) => c.toLowerCase().startsWith(p) && c !== prefix);
  const contains = candidates.filter((c) => !c.toLowerCase().startsWith(p) && c.toLowerCase().includes(p));
  return [...starts, ...contains].slice(0, limit);
}

/** The suggestions for a completion, given the label names and (for values) that label's values. */
export function suggestions(at: LogCompletion, names: readonly string[], values: readonly string[]): Suggestion[] {
  switch (at.kind) {
    case "name":
      return rank(at.prefix, names).map((name) =>
        at.wrap
          ? { label: name, insert: `{${name}=""}`, caret: name.length + 3, detail: "stream selector" }
          : { label: name, insert: `${name}=""`, caret: name.length + 2 },
      );
    case "value":
      return rank(at.prefix, values).map((value) => {
        const text = quote(value);
        // inside a started string the opening quote is already there
        const insert = at.open ? text.slice(1) : text;
        return { label: value, insert, caret: insert.length };
      });
    case "pipe":
      return PIPES.filter((p) => p.insert.startsWith(at.prefix) && p.insert !== at.prefix);
    case "parser":
      return ["json", "logfmt"]
        .filter((p) => p.startsWith(at.prefix) && p !== at.prefix)
        .map((p) => ({ label: p, insert: p, caret: p.length, detail: "parser" }));
  }
}

/** The text with the typed prefix (from `at.from` to `caret`) replaced, and the new caret. */
export function applySuggestion(text: string, at: LogCompletion, caret: number, s: Suggestion): [string, number] {
  let rest = text.slice(caret);
  // A value completed inside a string brings its own closing quote: drop the one already typed.
  if (at.kind === "value" && at.open && rest.startsWith('"')) rest = rest.slice(1);
  return [text.slice(0, at.from) + s.insert + rest, at.from + s.caret];
}

/**
 * The query with `name="value"` in its stream selector: an existing `name="…"` matcher gets the
 * new value, otherwise the matcher is added (and a selector created when there is none).
 */
export function withMatcher(query: string, name: string, value: string): string {
  const tokens = scan(query);
  const open = tokens[0]?.kind === "{" ? tokens[0] : null;
  const matcher = `${name}=${quote(value)}`;
  if (!open) {
    const rest = query.trim();
    return rest ? `{${matcher}} ${rest}` : `{${matcher}}`;
  }
  const close = tokens.find((t) => t.kind === "}");
  if (!close) return `${query.trimEnd()}${tokens.length > 1 ? ", " : ""}${matcher}}`;
  const inside = tokens.filter((t) => t.start > open.start && t.end <= close.start);
  for (let i = 0; i + 2 < inside.length; i += 1) {
    const [n, op, v] = [inside[i], inside[i + 1], inside[i + 2]];
    if (n?.kind === "name" && n.text === name && op?.text === "=" && v?.kind === "string") {
      return query.slice(0, v.start) + quote(value) + query.slice(v.end);
    }
  }
  const sep = inside.length > 0 && inside.at(-1)?.kind !== "," ? ", " : "";
  const head = query.slice(0, close.start).trimEnd();
  return `${head}${sep}${matcher}${query.slice(close.start)}`;
}

/**
 * `position` of a problem document (0-based, counted in code points as the server counts) as an
 * index into the JavaScript string (UTF-16 units), clamped to the text.
 */
export function positionIndex(text: string, position: number): number {
  let cp = 0;
  let i = 0;
  while (i < text.length && cp < position) {
    const code = text.codePointAt(i) ?? 0;
    i += code > 0xffff ? 2 : 1;
    cp += 1;
  }
  return Math.min(i, text.length);
}
