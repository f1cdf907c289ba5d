/**
 * The agent create/edit form: its state as strings, validation that mirrors the API's rules
 * (agents/schemas.py), and conversion to the request bodies.
 */
import type { AgentCreate, AgentPublic, AgentType, AgentUpdate } from "../api/types";

export const MAX_REPLICAS = 20;
export const MAX_LABELS = 64;
export const MAX_DEPENDENCIES = 100;
const DEPENDENCY_NAME_MAX = 253;
const LABEL_PART_MAX = 63;

export const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const LABEL_NAME = "[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?";
const LABEL_KEY_RE = new RegExp(`^(${DNS_SUBDOMAIN}/)?${LABEL_NAME}$`);
const LABEL_VALUE_RE = new RegExp(`^(${LABEL_NAME})?$`);
const CPU_RE = /^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$/;
const MEMORY_RE = /^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

export interface AgentFormState {
  name: string;
  type: AgentType;
  description: string;
  model: string;
  version: string;
  replica_count: string;
  cpu_limit: string;
  memory_limit: string;
  labels: string;
  dependencies: string;
  autoscaling_enabled: boolean;
  min_replicas: string;
  max_replicas: string;
  config: string;
  metadata: string;
}

/** Errors keyed like the API's `errors[].loc` without the leading "body". */
export type FormErrors = Record<string, string>;

export const EMPTY_AGENT_FORM: AgentFormState = {
  name: "",
  type: "llm",
  description: "",
  model: "",
  version: "1.0.0",
  replica_count: "1",
  cpu_limit: "500m",
  memory_limit: "512Mi",
  labels: "",
  dependencies: "",
  autoscaling_enabled: false,
  min_replicas: "1",
  max_replicas: String(MAX_REPLICAS),
  config: "{}",
  metadata: "{}",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => (v ? `${k}=${v}` : k))
    .join(", ");
}

export function formFromAgent(agent: AgentPublic): AgentFormState {
  const { auto_scaling: scaling, ...rest } = agent.config;
  const auto = isRecord(scaling) ? scaling : null;
  return {
    name: agent.name,
    type: agent.type,
    description: agent.description,
    model: agent.model ?? "",
    version: agent.version,
    replica_count: String(agent.replica_count),
    cpu_limit: agent.cpu_limit,
    memory_limit: agent.memory_limit,
    labels: formatLabels(agent.labels),
    dependencies: agent.dependencies.join(", "),
    autoscaling_enabled: auto?.enabled === true,
    min_replicas: String(typeof auto?.min_replicas === "number" ? auto.min_replicas : 1),
    max_replicas: String(typeof auto?.max_replicas === "number" ? auto.max_replicas : MAX_REPLICAS),
    config: JSON.stringify(rest, null, 2),
    metadata: JSON.stringify(agent.metadata, null, 2),
  };
}

/** "team=support, env=prod" (commas or new lines) → {team: "support", env: "prod"}. */
export function parseLabels(text: string): { labels: Record<string, string>; error?: string } {
  const labels: Record<string, string> = {};
  const items = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    const eq = item.indexOf("=");
    const key = (eq === -1 ? item : item.slice(0, eq)).trim();
    const value = eq === -1 ? "" : item.slice(eq + 1).trim();
    if (key.length > LABEL_PART_MAX || !LABEL_KEY_RE.test(key)) {
      return {
        labels,
        error: `Label key "${key}" is not valid: letters, digits, '-', '_' and '.', starting and ending with a letter or digit, optionally after a "domain/" prefix (at most ${LABEL_PART_MAX} characters).`,
      };
    }
    if (value.length > LABEL_PART_MAX || !LABEL_VALUE_RE.test(value)) {
      return {
        labels,
        error: `Label value "${value}" is not valid: empty, or letters, digits, '-', '_' and '.', starting and ending with a letter or digit (at most ${LABEL_PART_MAX} characters).`,
      };
    }
    if (key in labels) return { labels, error: `Label "${key}" is given twice.` };
    labels[key] = value;
  }
  if (Object.keys(labels).length > MAX_LABELS) {
    return { labels, error: `At most ${MAX_LABELS} labels are allowed.` };
  }
  return { labels };
}

/** "intent-router, openai-api" (commas or new lines) → names, trimmed, repeats dropped. */
export function parseDependencies(text: string): { names: string[]; error?: string } {
  const names: string[] = [];
  for (const raw of text.split(/[,\n]/)) {
    const name = raw.trim();
    if (!name || names.includes(name)) continue;
    if (name.length > DEPENDENCY_NAME_MAX) {
      return { names, error: `"${name.slice(0, 20)}…" is longer than ${DEPENDENCY_NAME_MAX} characters.` };
    }
    names.push(name);
  }
  if (names.length > MAX_DEPENDENCIES) return { names, error: `At most ${MAX_DEPENDENCIES} dependencies are allowed.` };
  return { names };
}

function parseObject(text: string): { value: Record<string, unknown>; error?: string } {
  if (!text.trim()) return { value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (!isRecord(value)) return { value: {}, error: "Must be a JSON object, like {\"key\": \"value\"}." };
    return { value };
  } catch (err) {
    return { value: {}, error: `Not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function parseCount(text: string, field: string, errors: FormErrors): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) {
    errors[field] = `Enter a whole number from 0 to ${MAX_REPLICAS}.`;
    return NaN;
  }
  const n = Number(t);
  if (n > MAX_REPLICAS) errors[field] = `At most ${MAX_REPLICAS}.`;
  return n;
}

export function isCpuQuantity(value: string): boolean {
  if (!CPU_RE.test(value)) return false;
  const number = value.endsWith("m") ? value.slice(0, -1) : value;
  return Number(number) > 0;
}

export function isMemoryQuantity(value: string): boolean {
  const match = MEMORY_RE.exec(value);
  return match !== null && Number(match[1]) > 0;
}

/** Everything the API would refuse, keyed by field; empty when the form is good. */
export function validateAgentForm(form: AgentFormState): FormErrors {
  const errors: FormErrors = {};
  const name = form.name.trim();
  if (!name) errors.name = "Give the agent a name.";
  else if (name.length > 63) errors.name = "At most 63 characters.";
  else if (!NAME_RE.test(name))
    errors.name =
      "Use lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS label).";
  if (form.description.length > 2000) errors.description = "At most 2000 characters.";
  if (form.model.length > 200) errors.model = "At most 200 characters.";
  if (!form.version.trim()) errors.version = "Give a version, e.g. 1.0.0.";
  else if (form.version.length > 64) errors.version = "At most 64 characters.";
  parseCount(form.replica_count, "replica_count", errors);
  if (!isCpuQuantity(form.cpu_limit.trim()))
    errors.cpu_limit = "Use millicores like 250m or cores like 1 or 2.5 (greater than zero).";
  if (!isMemoryQuantity(form.memory_limit.trim()))
    errors.memory_limit = "Use a number with a unit such as 256Mi or 1Gi (greater than zero).";
  const labels = parseLabels(form.labels);
  if (labels.error) errors.labels = labels.error;
  const dependencies = parseDependencies(form.dependencies);
  if (dependencies.error) errors.dependencies = dependencies.error;
  const config = parseObject(form.config);
  if (config.error) errors.config = config.error;
  else if ("auto_scaling" in config.value)
    errors.config = "Set auto-scaling with the fields above, not in the JSON.";
  const metadata = parseObject(form.metadata);
  if (metadata.error) errors.metadata = metadata.error;
  if (form.autoscaling_enabled) {
    const min = parseCount(form.min_replicas, "config.auto_scaling.min_replicas", errors);
    const max = parseCount(form.max_replicas, "config.auto_scaling.max_replicas", errors);
    if (!Number.isNaN(min) && !Number.isNaN(max) && min > max)
      errors["config.auto_scaling.max_replicas"] = "Must be at least the minimum.";
  }
  return errors;
}

function buildConfig(form: AgentFormState, keepScaling: boolean): Record<string, unknown> {
  const config = parseObject(form.config).value;
  if (form.autoscaling_enabled || keepScaling) {
    config.auto_scaling = {
      enabled: form.autoscaling_enabled,
      min_replicas: Number(form.min_replicas.trim()),
      max_replicas: Number(form.max_replicas.trim()),
    };
  }
  return config;
}

/** The POST body for a valid form. */
export function toAgentCreate(form: AgentFormState): AgentCreate {
  return {
    name: form.name.trim(),
    type: form.type,
    description: form.description,
    model: form.model.trim() || null,
    version: form.version.trim(),
    replica_count: Number(form.replica_count.trim()),
    cpu_limit: form.cpu_limit.trim(),
    memory_limit: form.memory_limit.trim(),
    labels: parseLabels(form.labels).labels,
    dependencies: parseDependencies(form.dependencies).names,
    config: buildConfig(form, false),
    metadata: parseObject(form.metadata).value,
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The PATCH body: only the fields that differ from the agent as loaded. */
export function toAgentUpdate(form: AgentFormState, agent: AgentPublic): AgentUpdate {
  const hadScaling = isRecord(agent.config.auto_scaling);
  const next = toAgentCreate(form);
  const config = buildConfig(form, hadScaling);
  const update: AgentUpdate = {};
  if (next.name !== agent.name) update.name = next.name;
  if (next.type !== agent.type) update.type = next.type;
  if (next.description !== agent.description) update.description = next.description;
  if ((next.model ?? null) !== agent.model) update.model = next.model ?? null;
  if (next.version !== agent.version) update.version = next.version;
  if (next.replica_count !== agent.replica_count) update.replica_count = next.replica_count;
  if (next.cpu_limit !== agent.cpu_limit) update.cpu_limit = next.cpu_limit;
  if (next.memory_limit !== agent.memory_limit) update.memory_limit = next.memory_limit;
  if (!sameJson(next.labels, agent.labels)) update.labels = next.labels;
  if (!sameJson(next.dependencies ?? [], agent.dependencies)) update.dependencies = next.dependencies ?? [];
  if (!sameJson(config, agent.config)) update.config = config;
  if (!sameJson(next.metadata, agent.metadata)) update.metadata = next.metadata;
  return update;
}

/** Field errors from the server that no form field shows (to list them in the banner). */
export function unplacedErrors(errors: FormErrors, placed: readonly string[]): string[] {
  return Object.entries(errors)
    .filter(([key]) => !placed.some((p) => key === p || key.startsWith(`${p}.`)))
    .map(([key, message]) => `${key}: ${message}`);
}

/** The message for `field` or any of its sub-fields (e.g. labels.team → labels). */
export function errorAt(errors: FormErrors, field: string): string | undefined {
  if (errors[field]) return errors[field];
  const prefix = `${field}.`;
  const key = Object.keys(errors).find((k) => k.startsWith(prefix));
  return key ? errors[key] : undefined;
}
