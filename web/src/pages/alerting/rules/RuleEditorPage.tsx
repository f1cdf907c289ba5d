/**
 * Create or edit an alert rule: threshold form or PromQL, the compiled expression, a live
 * preview chart of the expression with its threshold line, and the backtest over the last
 * hours (when it would have fired) before saving.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState, type ReactNode, type SyntheticEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { errorMessage, fieldErrors } from "../../../api/problem";
import { ErrorBanner, Field, Loading, PageHead, Spinner } from "../../../components/ui";
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
  type AlertRuleCreate,
  type BacktestResult,
  type Severity,
  type ThresholdForm,
} from "../../../api/rules";

type Mode = "threshold" | "promql";
type NoData = AlertRuleCreate["no_data_state"];

interface RuleForm {
  name: string;
  severity: Severity;
  mode: Mode;
  metric: string;
  aggregation: ThresholdForm["aggregation"];
  window: string;
  operator: ThresholdForm["operator"];
  threshold: string;
  expr: string;
  forSeconds: string;
  intervalSeconds: string;
  noData: NoData;
  summary: string;
  enabled: boolean;
}

const EMPTY: RuleForm = {
  name: "",
  severity: "warning",
  mode: "threshold",
  metric: "agent_cpu_percent",
  aggregation: "avg",
  window: "5m",
  operator: ">=",
  threshold: "80",
  expr: "",
  forSeconds: "0",
  intervalSeconds: "60",
  noData: "ok",
  summary: "{{ $labels.agent }} is at {{ $value }}",
  enabled: true,
};

const HOURS = [1, 6, 24] as const;

function formOf(rule: AlertRule): RuleForm {
  const t = rule.threshold;
  return {
    name: rule.name,
    severity: rule.severity,
    mode: t ? "threshold" : "promql",
    metric: t?.metric_name ?? EMPTY.metric,
    aggregation: t?.aggregation ?? "avg",
    window: t?.window ?? "5m",
    operator: t?.operator ?? ">=",
    threshold: t ? String(t.threshold) : EMPTY.threshold,
    expr: rule.expr,
    forSeconds: String(rule.for_seconds),
    intervalSeconds: String(rule.interval_seconds),
    noData: rule.no_data_state,
    summary: rule.annotations["summary"] ?? "",
    enabled: rule.enabled,
  };
}

function bodyOf(form: RuleForm, rule: AlertRule | undefined): AlertRuleCreate {
  const shared = {
    name: form.name.trim(),
    description: rule?.description ?? "",
    group: rule?.group ?? "default",
    keep_firing_for_seconds: rule?.keep_firing_for_seconds ?? 0,
    severity: form.severity,
    for_seconds: Number(form.forSeconds) || 0,
    interval_seconds: Number(form.intervalSeconds) || 60,
    no_data_state: form.noData,
    enabled: form.enabled,
    annotations: { ...(rule?.annotations ?? {}), summary: form.summary },
  };
  if (form.mode === "promql") return { ...shared, expr: form.expr };
  return {
    ...shared,
    threshold: {
      metric_name: form.metric.trim(),
      aggregation: form.aggregation,
      window: form.window.trim(),
      operator: form.operator,
      threshold: Number(form.threshold),
    },
  };
}

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
  const loaded = useQuery({ ...ruleQuery(ruleId ?? ""), enabled: Boolean(ruleId) });
  if (ruleId && loaded.isPending) return <Loading />;
  if (ruleId && loaded.isError) return <ErrorBanner error={loaded.error} />;
  return (
    <RuleEditor
      key={ruleId ?? "new"}
      rule={loaded.data?.data}
      etag={loaded.data?.etag ?? null}
    />
  );
}

function RuleEditor({
  rule,
  etag,
}: {
  rule: AlertRule | undefined;
  etag: string | null;
}): ReactNode {
  const navigate = useNavigate();
  const client = useQueryClient();
  const [form, setForm] = useState<RuleForm>(rule ? formOf(rule) : EMPTY);
  const [hours, setHours] = useState<number>(1);
  const set = <K extends keyof RuleForm>(key: K, value: RuleForm[K]): void =>
    setForm((f) => ({ ...f, [key]: value }));
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
  const errors = save.isError ? fieldErrors(save.error) : {};
  const errorOf = (...names: string[]): string | undefined => {
    for (const name of names) {
      for (const [key, message] of Object.entries(errors)) {
        if (key === name || key.endsWith(`.${name}`)) return message;
      }
    }
    return undefined;
  };
  const submit = (e: SyntheticEvent): void => {
    e.preventDefault();
    save.mutate();
  };
  const transitions = backtest.data?.transitions ?? [];

  return (
    <>
      <PageHead
        title={rule ? `Rule ${rule.name}` : "New alert rule"}
        crumbs={<Link to="/alerting/rules">Alert rules</Link>}
      />
      <form className="card card-body" onSubmit={submit} aria-label="Alert rule">
        {save.isError && Object.keys(errors).length === 0 ? <ErrorBanner error={save.error} /> : null}
        <div className="form-grid">
          <Field label="Name" error={errorOf("name")}>
            {(p) => (
              <input {...p} className="input" value={form.name} onChange={(e) => set("name", e.target.value)} required />
            )}
          </Field>
          <Field label="Severity" error={errorOf("severity")}>
            {(p) => (
              <select {...p} className="select" value={form.severity} onChange={(e) => set("severity", e.target.value as Severity)}>
                {SEVERITIES.map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div className="filters" role="radiogroup" aria-label="Rule kind">
          <label>
            <input type="radio" checked={form.mode === "threshold"} onChange={() => set("mode", "threshold")} /> Threshold
          </label>
          <label>
            <input
              type="radio"
              checked={form.mode === "promql"}
              onChange={() => {
                setForm((f) => ({ ...f, mode: "promql", expr: f.expr || backtest.data?.expr || "" }));
              }}
            />{" "}
            PromQL
          </label>
        </div>
        {form.mode === "threshold" ? (
          <div className="form-grid">
            <Field label="Metric" error={errorOf("metric_name")}>
              {(p) => <input {...p} className="input mono" value={form.metric} onChange={(e) => set("metric", e.target.value)} />}
            </Field>
            <Field label="Aggregation" error={errorOf("aggregation")}>
              {(p) => (
                <select {...p} className="select" value={form.aggregation} onChange={(e) => set("aggregation", e.target.value as RuleForm["aggregation"])}>
                  {AGGREGATIONS.map((a) => (
                    <option key={a}>{a}</option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Window" error={errorOf("window")}>
              {(p) => <input {...p} className="input" value={form.window} onChange={(e) => set("window", e.target.value)} />}
            </Field>
            <Field label="Operator" error={errorOf("operator")}>
              {(p) => (
                <select {...p} className="select" value={form.operator} onChange={(e) => set("operator", e.target.value as RuleForm["operator"])}>
                  {OPERATORS.map((o) => (
                    <option key={o}>{o}</option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Threshold" error={errorOf("threshold")}>
              {(p) => (
                <input {...p} className="input" type="number" step="any" value={form.threshold} onChange={(e) => set("threshold", e.target.value)} />
              )}
            </Field>
          </div>
        ) : (
          <Field label="PromQL expression" error={errorOf("expr")}>
            {(p) => (
              <textarea {...p} className="input mono" rows={3} value={form.expr} onChange={(e) => set("expr", e.target.value)} />
            )}
          </Field>
        )}
        <div className="form-grid">
          <Field label="For (seconds pending before firing)" error={errorOf("for_seconds")}>
            {(p) => <input {...p} className="input" type="number" min={0} value={form.forSeconds} onChange={(e) => set("forSeconds", e.target.value)} />}
          </Field>
          <Field label="Evaluate every (seconds)" error={errorOf("interval_seconds")}>
            {(p) => <input {...p} className="input" type="number" min={1} value={form.intervalSeconds} onChange={(e) => set("intervalSeconds", e.target.value)} />}
          </Field>
          <Field label="When there is no data" error={errorOf("no_data_state")}>
            {(p) => (
              <select {...p} className="select" value={form.noData} onChange={(e) => set("noData", e.target.value as NoData)}>
                <option value="ok">Do nothing (ok)</option>
                <option value="alerting">Fire (alerting)</option>
                <option value="nodata">Raise a no-data alert</option>
              </select>
            )}
          </Field>
        </div>
        <Field label="Summary" error={errorOf("annotations")} hint="Templates: {{ $labels.agent }}, {{ $value }}">
          {(p) => <input {...p} className="input" value={form.summary} onChange={(e) => set("summary", e.target.value)} />}
        </Field>
        <label>
          <input type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} /> Enabled
        </label>

        <h2>Expression</h2>
        <pre className="mono" data-testid="compiled-expr">
          {backtest.data?.expr ?? (form.mode === "promql" ? form.expr : "…")}
        </pre>

        <div className="filters">
          <h2 className="grow">Preview and backtest</h2>
          <select className="select" aria-label="Backtest range" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {HOURS.map((h) => (
              <option key={h} value={h}>
                Last {h} h
              </option>
            ))}
          </select>
        </div>
        {backtest.isError ? (
          <div className="banner banner-error" role="alert" data-testid="backtest-error">
            {errorMessage(backtest.error)}
          </div>
        ) : backtest.isPending ? (
          <Spinner />
        ) : chart.length === 0 ? (
          <p>No samples for this expression in the range.</p>
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
            ) : null}
          </div>
        ) : null}

        <div className="filters">
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {rule ? "Save rule" : "Create rule"}
          </button>
          <Link className="btn" to="/alerting/rules">
            Cancel
          </Link>
          {rule ? (
            <button type="button" className="btn btn-danger" onClick={() => remove.mutate()}>
              Delete
            </button>
          ) : null}
        </div>
      </form>
    </>
  );
}
