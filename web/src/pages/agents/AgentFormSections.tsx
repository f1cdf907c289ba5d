/** The sections of the agent form, one component each; the state, validation and request
 * bodies live in lib/agentForm.ts, the submit in AgentFormPage. */
import type { ReactNode } from "react";
import { AGENT_TYPES, type AgentType } from "../../api/types";
import { ResourceSection } from "../../components/ResourceSection";
import { Field } from "../../components/ui";
import { errorAt, MAX_REPLICAS, type AgentFormState, type FormErrors } from "../../lib/agentForm";

export interface SectionProps {
  form: AgentFormState;
  errors: FormErrors;
  set: <K extends keyof AgentFormState>(key: K, value: AgentFormState[K]) => void;
}

/** What the agent is: its name, type, model, labels and what it calls. */
export function IdentitySection({ form, errors, set }: SectionProps): ReactNode {
  return (
    <ResourceSection title="Identity">
      <div className="card-body form">
        <div className="grid-2">
          <Field
            label="Name"
            error={errors.name}
            hint="Lowercase letters, digits and '-'; unique in the tenant (a DNS label)."
          >
            {(p) => (
              <input
                {...p}
                name="name"
                className="input mono"
                autoComplete="off"
                spellCheck={false}
                value={form.name}
                onChange={(e) => set("name", e.target.value)}
              />
            )}
          </Field>
          <Field label="Type" error={errors.type}>
            {(p) => (
              <select
                {...p}
                name="type"
                className="select"
                value={form.type}
                onChange={(e) => set("type", e.target.value as AgentType)}
              >
                {AGENT_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Field label="Description" error={errors.description}>
          {(p) => (
            <textarea
              {...p}
              name="description"
              className="textarea"
              rows={3}
              value={form.description}
              onChange={(e) => set("description", e.target.value)}
            />
          )}
        </Field>
        <div className="grid-2">
          <Field label="Model" error={errors.model} hint="Optional, e.g. gpt-4o-mini or llama3.1:8b.">
            {(p) => (
              <input
                {...p}
                name="model"
                className="input mono"
                value={form.model}
                onChange={(e) => set("model", e.target.value)}
              />
            )}
          </Field>
          <Field label="Version" error={errors.version}>
            {(p) => (
              <input
                {...p}
                name="version"
                className="input mono"
                value={form.version}
                onChange={(e) => set("version", e.target.value)}
              />
            )}
          </Field>
        </div>
        <Field
          label="Labels"
          error={errorAt(errors, "labels")}
          hint="key=value pairs separated by commas, e.g. team=support, env=prod."
        >
          {(p) => (
            <input
              {...p}
              name="labels"
              className="input mono"
              spellCheck={false}
              value={form.labels}
              onChange={(e) => set("labels", e.target.value)}
            />
          )}
        </Field>
        <Field
          label="Dependencies"
          error={errorAt(errors, "dependencies")}
          hint="Agents or external services this agent calls, separated by commas, e.g. intent-router, openai-api. The overview's call graph shows them."
        >
          {(p) => (
            <input
              {...p}
              name="dependencies"
              className="input mono"
              spellCheck={false}
              value={form.dependencies}
              onChange={(e) => set("dependencies", e.target.value)}
            />
          )}
        </Field>
      </div>
    </ResourceSection>
  );
}

/** How it is sized: replicas, CPU and memory limits, auto-scaling. */
export function ResourcesSection({ form, errors, set }: SectionProps): ReactNode {
  const scalingError = errors["config.auto_scaling"];
  return (
    <ResourceSection title="Resources">
      <div className="card-body form">
        <div className="grid-3">
          <Field label="Replicas" error={errors.replica_count} hint={`0 to ${MAX_REPLICAS}.`}>
            {(p) => (
              <input
                {...p}
                name="replica_count"
                className="input"
                type="number"
                inputMode="numeric"
                min={0}
                max={MAX_REPLICAS}
                value={form.replica_count}
                onChange={(e) => set("replica_count", e.target.value)}
              />
            )}
          </Field>
          <Field label="CPU limit" error={errors.cpu_limit} hint="e.g. 250m, 1, 2.5">
            {(p) => (
              <input
                {...p}
                name="cpu_limit"
                className="input mono"
                value={form.cpu_limit}
                onChange={(e) => set("cpu_limit", e.target.value)}
              />
            )}
          </Field>
          <Field label="Memory limit" error={errors.memory_limit} hint="e.g. 256Mi, 1Gi">
            {(p) => (
              <input
                {...p}
                name="memory_limit"
                className="input mono"
                value={form.memory_limit}
                onChange={(e) => set("memory_limit", e.target.value)}
              />
            )}
          </Field>
        </div>
        <fieldset className="fieldset">
          <legend>Auto-scaling</legend>
          <div className="form">
            <label className="checkbox">
              <input
                type="checkbox"
                name="autoscaling_enabled"
                checked={form.autoscaling_enabled}
                onChange={(e) => set("autoscaling_enabled", e.target.checked)}
              />
              Scale between a minimum and a maximum number of replicas
            </label>
            {form.autoscaling_enabled ? (
              <div className="grid-2">
                <Field label="Minimum replicas" error={errorAt(errors, "config.auto_scaling.min_replicas")}>
                  {(p) => (
                    <input
                      {...p}
                      name="min_replicas"
                      className="input"
                      type="number"
                      min={0}
                      max={MAX_REPLICAS}
                      value={form.min_replicas}
                      onChange={(e) => set("min_replicas", e.target.value)}
                    />
                  )}
                </Field>
                <Field label="Maximum replicas" error={errorAt(errors, "config.auto_scaling.max_replicas")}>
                  {(p) => (
                    <input
                      {...p}
                      name="max_replicas"
                      className="input"
                      type="number"
                      min={0}
                      max={MAX_REPLICAS}
                      value={form.max_replicas}
                      onChange={(e) => set("max_replicas", e.target.value)}
                    />
                  )}
                </Field>
              </div>
            ) : null}
            {scalingError ? <div className="field"><div className="error">{scalingError}</div></div> : null}
          </div>
        </fieldset>
      </div>
    </ResourceSection>
  );
}

/** Free-form JSON: runtime config and metadata. */
export function ConfigurationSection({ form, errors, set }: SectionProps): ReactNode {
  return (
    <ResourceSection title="Configuration">
      <div className="card-body grid-2">
        <Field label="Config (JSON)" error={errors.config} hint="Runtime settings passed to the agent.">
          {(p) => (
            <textarea
              {...p}
              name="config"
              className="textarea code"
              rows={8}
              spellCheck={false}
              value={form.config}
              onChange={(e) => set("config", e.target.value)}
            />
          )}
        </Field>
        <Field label="Metadata (JSON)" error={errorAt(errors, "metadata")} hint="Anything you want to keep beside the agent.">
          {(p) => (
            <textarea
              {...p}
              name="metadata"
              className="textarea code"
              rows={8}
              spellCheck={false}
              value={form.metadata}
              onChange={(e) => set("metadata", e.target.value)}
            />
          )}
        </Field>
      </div>
    </ResourceSection>
  );
}
