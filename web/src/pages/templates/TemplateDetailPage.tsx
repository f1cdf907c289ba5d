/** One log template: its text, counts, hourly trend, services and sample lines, with a link
 * to its lines on the Logs page. */
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link, useParams } from "react-router";
import { ApiError } from "../../api/problem";
import { templateQuery } from "../../api/templates";
import { EmptyState, ErrorBanner, LinkButton, Loading, PageHead, Time } from "../../components/ui";
import { risingText, templateLogsHref } from "../../lib/templates";
import { TemplateText, TrendBars } from "./parts";
import "./templates.css";

export function TemplateDetailPage(): ReactNode {
  const { templateId = "" } = useParams();
  const id = Number(templateId);
  const query = useQuery(templateQuery(id));
  const crumbs = <Link to="/templates">Templates</Link>;

  if (!Number.isInteger(id) || id <= 0 || (query.isError && query.error instanceof ApiError && query.error.status === 404)) {
    return (
      <>
        <PageHead title="Template" crumbs={crumbs} />
        <div className="card">
          <EmptyState icon="templates" title="This template does not exist" action={<LinkButton to="/templates">Back to templates</LinkButton>}>
            <p>The link may be wrong, or the template was evicted (the least recently seen go first).</p>
          </EmptyState>
        </div>
      </>
    );
  }
  if (query.isPending) return <Loading />;
  if (query.isError) {
    return (
      <>
        <PageHead title="Template" crumbs={crumbs} />
        <ErrorBanner error={query.error} onRetry={() => void query.refetch()} />
      </>
    );
  }
  const t = query.data;
  return (
    <>
      <PageHead
        title={`Template #${t.id}`}
        crumbs={crumbs}
        subtitle={t.id !== id ? `Template #${id} was merged into this one.` : undefined}
        actions={
          <LinkButton to={templateLogsHref(t.id, t.merged_ids)} icon="logs" primary>
            Show its lines
          </LinkButton>
        }
      />
      <section className="card" aria-label="Template">
        <div className="card-body stack">
          <pre className="tpl-full">
            <TemplateText text={t.template} />
          </pre>
          <dl className="props">
            <dt>Lines</dt>
            <dd>{t.count.toLocaleString("en")}</dd>
            <dt>First seen</dt>
            <dd>
              <Time value={t.first_seen} />
            </dd>
            <dt>Last seen</dt>
            <dd>
              <Time value={t.last_seen} />
            </dd>
            <dt>Rising</dt>
            <dd className="mono">{risingText(t.rising)}</dd>
            <dt>Services</dt>
            <dd>
              {t.services.length ? (
                <div className="chips">
                  {t.services.map((s) => (
                    <span className="chip" key={s}>
                      {s}
                    </span>
                  ))}
                </div>
              ) : (
                <span className="faint">—</span>
              )}
            </dd>
            {t.merged_ids.length ? (
              <>
                <dt>Merged ids</dt>
                <dd className="mono">{t.merged_ids.map((m) => `#${m}`).join(", ")}</dd>
              </>
            ) : null}
            <dt>Lines per hour</dt>
            <dd>
              <TrendBars trend={t.trend} start={t.trend_start} stepSeconds={t.trend_step_seconds} width={480} height={64} />
            </dd>
          </dl>
        </div>
      </section>
      <section className="card" aria-label="Sample lines">
        <div className="card-head">
          <h2>Sample lines</h2>
          <span className="small muted">The first lines seen</span>
        </div>
        <div className="card-body">
          {t.samples.length ? (
            <ul className="tpl-samples">
              {t.samples.map((s, i) => (
                <li key={i} className="mono">
                  {s}
                </li>
              ))}
            </ul>
          ) : (
            <span className="faint">No samples kept.</span>
          )}
        </div>
      </section>
    </>
  );
}
