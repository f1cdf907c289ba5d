/**
 * Create or edit an alert rule: threshold form (with a metric picker) or PromQL, durations as
 * "5m", errors inline under their fields, the compiled expression, a live preview chart with
 * the threshold line, and the backtest over the last hours before saving. Viewers see the rule
 * read-only, without Save, Delete or Create.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState, type ReactNode, type SyntheticEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { errorMessage, fieldErrors } from "../../../api/problem";
import { useCan } from "../../../auth/session";
import { ResourceSection } from "../../../components/ResourceSection";
import { Banner, ErrorBanner, Field, Loading, PageHead, Spinner } from "../../../components/ui";
import { TimeSeriesChart } from "../../../components/TimeSeriesChart";
import type { ChartSeries } from "../../../lib/chartData";
import { useDebounced } from "../../../lib/useDebounced";
import {
  AGGREGATIONS,
  backtestQuery,
  createRule,
  deleteRule,
  OPERATORS,
  ruleKeys,
  ruleQuery,
  RULE_SEVERITIES as SEVERITIES,
  updateRule,
  type AlertRule,
  type BacktestResult,
  type Severity,
} from "../../../api/rules";
import { MetricPicker } from "./MetricPicker";
import {
  bodyOf,
  EMPTY_RULE_FORM,
  formErrorsOf,
  formOf,
  validateRuleForm,
  type NoData,
  type RuleForm,
  type RuleFormErrors,
} from "./ruleForm";
import "./rules.css";

const HOURS = [1, 6, 24] as const;
const DURATION_HINT = "e.g. 30s, 5m, 1h30m";

function chartOf(result: BacktestResult): ChartSeries[] {
  const times = result.timestamps.map((t) => Date.parse(t) / 1000);
  const series: ChartSeries[] = result.series.map((s) => ({
    label:
      Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(", ") || "value",
    points: s.values.map((v, i) => [times[i] ?? 0, v ?? null]),
  }));
  if (result.threshold !== null && series.length > 0) {
    const line = result.threshold;
    series.push({
      label: `threshold ${result.operator ?? ""} ${line}`,
      points: times.map((t) => [t, line]),
    });
  }
  return series;
}

export function RuleEditorPage(): ReactNode {
  const { ruleId } = useParams();
  const canEdit = useCan("developer");
  const loaded = useQuery({ ...ruleQuery(ruleId ?? ""), enabled: Boolean(ruleId) });
  if (!ruleId && !canEdit) {
    return (
      <>
        <PageHead title="New alert rule" crumbs={<Link to="/alerting/rules">Alert rules</Link>} />
        <Banner tone="info">Creating rules needs the developer role; you can read the existing ones.</Banner>
      </>
    );
  }
  if (ruleId && loaded.isPending) return <Loading />;
  if (ruleId && loaded.isError) return <ErrorBanner error={loaded.error} />;
  return (
    <RuleEditor
      key={ruleId ?? "new"}
      rule={loaded.data?.data}
      etag={loaded.data?.etag ?? null}
      readOnly={!canEdit}
    />
  );
}

function RuleEditor({
  rule,
  etag,
  readOnly,
}: {
  rule: AlertRule | undefined;
  etag: string | null;
  readOnly: boolean;
}): ReactNode {
  const navigate = useNavigate();
  const client = useQueryClient();
  const [form, setForm] = useState<RuleForm>(rule ? formOf(rule) : EMPTY_RULE_FORM);
  const [local, setLocal] = useState<RuleFormErrors>({});
  const [hours, setHours] = useState<number>(1);
  const set = <K extends keyof RuleForm>(key: K, value: RuleForm[K]): void => {
    setForm((f) => ({ ...f, [key]: value }));
    setLocal((e) => (e[key] ? { ...e, [key]: undefined } : e));
  };
  const body = useMemo(() => bodyOf(form, rule), [form, rule]);
  const settled = useDebounced(body, 600);

  // Backtest (and preview) over the chosen last hours whenever the rule settles.
  const backtest = useQuery(backtestQuery(settled, hours));
  const chart = useMemo(() => (backtest.data ? chartOf(backtest.data) : []), [backtest.data]);

  const save = useMutation({
    mutationFn: async () => {
      if (rule) {
        const patch = { ...body, ...(form.mode === "promql" ? { threshold: undefined } : {}) };
        return updateRule(rule.id, etag, patch);
      }
      return createRule(body);
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ruleKeys.all });
      void navigate("/alerting/rules");
    },
  });
  const remove = useMutation({
    mutationFn: () => deleteRule(rule?.id ?? ""),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ruleKeys.all });
      void navigate("/alerting/rules");
    },
  });
  const server = save.isError ? formErrorsOf(fieldErrors(save.error)) : {};
  const errors: RuleFormErrors = { ...server, ...local };
  const unplaced = save.isError && Object.keys(server).length === 0;
  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    const found = validateRuleForm(form);
    setLocal(found);
    if (Object.keys(found).length > 0) {
      window.setTimeout(() => document.querySelector<HTMLElement>('form [aria-invalid="true"]')?.focus(), 0);
      return;
    }
    save.mutate();
  };
  const transitions = backtest.data?.transitions ?? [];
  const invalid = Object.values(errors).some(Boolean);

  return (
    <>
      <PageHead
        title={rule ? `Rule ${rule.name}` : "New alert rule"}
        crumbs={<Link to="/alerting/rules">Alert rules</Link>}
        subtitle={readOnly ? "Read-only: changing rules needs the developer role." : undefined}
      />
      <form className="rule-editor" onSubmit={submit} noValidate aria-label="Alert rule">
        {unplaced ? <ErrorBanner error={save.error} /> : null}
        {invalid && !unplaced ? <Banner tone="error">Fix the highlighted fields and save again.</Banner> : null}
        <fieldset disabled={readOnly} className="fieldset-plain">
          <ResourceSection title="Rule">
            <div className="card-body section-body">
              <div className="rule-grid">
                <Field label="Name" error={errors.name}>
                  {(p) => <input {...p} className="input" value={form.name} onChange={(e) => set("name", e.target.value)} />}
                </Field>
                <Field label="Severity" error={errors.severity}>
                  {(p) => (
                    <select {...p} className="select" value={form.severity} onChange={(e) => set("severity", e.target.value as Severity)}>
                      {SEVERITIES.map((s) => (
                        <option key={s}>{s}</option>
                      ))}
                    </select>
                  )}
                </Field>
                <Field label="Evaluate every" error={errors.interval} hint={DURATION_HINT}>
                  {(p) => <input {...p} className="input" value={form.interval} onChange={(e) => set("interval", e.target.value)} />}
                </Field>
              </div>
              <div className="segmented" role="radiogroup" aria-label="Rule kind">
                <label>
                  <input type="radio" checked={form.mode === "threshold"} onChange={() => set("mode", "threshold")} /> Threshold
                </label>
                <label>
                  <input
                    type="radio"
                    checked={form.mode === "promql"}
                    onChange={() => setForm((f) => ({ ...f, mode: "promql", expr: f.expr || backtest.data?.expr || "" }))}
                  />{" "}
                  PromQL
                </label>
              </div>
              {form.mode === "threshold" ? (
                <div className="rule-grid">
                  <Field label="Metric" error={errors.metric} hint="Type to search the stored metric names.">
                    {(p) => <MetricPicker inputProps={p} value={form.metric} onChange={(v) => set("metric", v)} disabled={readOnly} />}
                  </Field>
                  <Field label="Aggregation" error={errors.aggregation}>
                    {(p) => (
                      <select {...p} className="select" value={form.aggregation} onChange={(e) => set("aggregation", e.target.value as RuleForm["aggregation"])}>
                        {AGGREGATIONS.map((a) => (
                          <option key={a}>{a}</option>
                        ))}
                      </select>
                    )}
                  </Field>
                  <Field label="Window" error={errors.window} hint={DURATION_HINT}>
                    {(p) => <input {...p} className="input" value={form.window} onChange={(e) => set("window", e.target.value)} />}
                  </Field>
                  <Field label="Operator" error={errors.operator}>
                    {(p) => (
                      <select {...p} className="select" value={form.operator} onChange={(e) => set("operator", e.target.value as RuleForm["operator"])}>
                        {OPERATORS.map((o) => (
                          <option key={o}>{o}</option>
                        ))}
                      </select>
                    )}
                  </Field>
                  <Field label="Threshold" error={errors.threshold}>
                    {(p) => (
                      <input {...p} className="input" type="number" step="any" value={form.threshold} onChange={(e) => set("threshold", e.target.value)} />
                    )}
                  </Field>
                </div>
              ) : (
                <Field label="PromQL expression" error={errors.expr}>
                  {(p) => (
                    <textarea {...p} className="input mono" rows={3} value={form.expr} onChange={(e) => set("expr", e.target.value)} />
                  )}
                </Field>
              )}
              <div className="rule-grid">
                <Field label="Pending for" error={errors.forDuration} hint={`How long the condition holds before it fires (${DURATION_HINT}; 0s: at once).`}>
                  {(p) => <input {...p} className="input" value={form.forDuration} onChange={(e) => set("forDuration", e.target.value)} />}
                </Field>
                <Field label="When there is no data" error={errors.noData}>
                  {(p) => (
                    <select {...p} className="select" value={form.noData} onChange={(e) => set("noData", e.target.value as NoData)}>
                      <option value="ok">Do nothing (ok)</option>
                      <option value="alerting">Fire (alerting)</option>
                      <option value="nodata">Raise a no-data alert</option>
                    </select>
                  )}
                </Field>
                <Field label="Summary" error={errors.summary} hint="Templates: {{ $labels.agent }}, {{ $value }}">
                  {(p) => <input {...p} className="input" value={form.summary} onChange={(e) => set("summary", e.target.value)} />}
                </Field>
              </div>
              <label className="check-row">
                <input type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} /> Enabled
              </label>
              <div className="field">
                <span className="field-label">Expression</span>
                <pre className="mono expr-box" data-testid="compiled-expr">
                  {backtest.data?.expr ?? (form.mode === "promql" ? form.expr : "…")}
                </pre>
              </div>
            </div>
          </ResourceSection>
        </fieldset>

        <ResourceSection
          title="Preview and backtest"
          actions={
            <select className="select" aria-label="Backtest range" value={hours} onChange={(e) => setHours(Number(e.target.value))} style={{ width: "auto" }}>
              {HOURS.map((h) => (
                <option key={h} value={h}>
                  Last {h} h
                </option>
              ))}
            </select>
          }
        >
          <div className="card-body section-body">
            {backtest.isError ? (
              <div className="banner banner-error" role="alert" data-testid="backtest-error">
                {errorMessage(backtest.error)}
              </div>
            ) : backtest.isPending ? (
              <Spinner />
            ) : chart.length === 0 ? (
              <p className="muted">No samples for this expression in the range.</p>
            ) : (
              <TimeSeriesChart series={chart} height={240} label="Rule preview" />
            )}
            {backtest.data ? (
              <div data-testid="backtest-result">
                <p>
                  {backtest.data.alerts.length === 0
                    ? "It would not have fired in this range."
                    : `It would have fired ${backtest.data.alerts.length} time(s) in this range.`}
                </p>
                {transitions.length > 0 ? (
                  <div className="table-wrap">
                    <table className="table" aria-label="Backtest transitions">
                      <thead>
                        <tr>
                          <th>At</th>
                          <th>Series</th>
                          <th>State</th>
                          <th>Value</th>
                        </tr>
                      </thead>
                      <tbody>
                        {transitions.slice(0, 50).map((t, i) => (
                          <tr key={i}>
                            <td>{new Date(t.at).toLocaleString()}</td>
                            <td className="mono">
                              {Object.entries(t.labels)
                                .map(([k, v]) => `${k}=${v}`)
                                .join(", ") || "(rule)"}
                            </td>
                            <td>{t.state}</td>
                            <td>{t.value ?? ""}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                ) : null}
              </div>
            ) : null}
          </div>
        </ResourceSection>

        <div className="form-actions">
          <Link className="btn" to="/alerting/rules">
            {readOnly ? "Back to rules" : "Cancel"}
          </Link>
          {rule && !readOnly ? (
            <button type="button" className="btn btn-danger" onClick={() => remove.mutate()}>
              Delete
            </button>
          ) : null}
          {!readOnly ? (
            <button type="submit" className="btn btn-primary" disabled={save.isPending}>
              {rule ? "Save rule" : "Create rule"}
            </button>
          ) : null}
        </div>
      </form>
    </>
  );
}
