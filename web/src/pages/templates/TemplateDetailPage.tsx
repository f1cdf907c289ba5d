/** One log template: its text, counts, hourly trend, services and sample lines, with a link
 * to its lines on the Logs page. */
import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useParams } from "react-router";
import { templateQuery } from "../../api/templates";
import { DetailFailure, DetailHead, PropList } from "../../components/DetailHead";
import { LinkButton, Loading, Time } from "../../components/ui";
import { risingText, templateLogsHref } from "../../lib/templates";
import { TemplateText, TrendBars } from "./parts";
import "./templates.css";

const TEMPLATES = { to: "/templates", label: "Templates" };

export function TemplateDetailPage(): ReactNode {
  const { templateId = "" } = useParams();
  const id = Number(templateId);
  const query = useQuery(templateQuery(id));
  const invalid = !Number.isInteger(id) || id <= 0;

  if (invalid || query.isError) {
    return (
      <DetailFailure what="Template" list={TEMPLATES} icon="templates" error={query.error} missing={invalid} onRetry={() => void query.refetch()}>
        <p>The link may be wrong, or the template was evicted (the least recently seen go first).</p>
      </DetailFailure>
    );
  }
  if (query.isPending) return <Loading />;
  const t = query.data;
  return (
    <>
      <DetailHead
        list={TEMPLATES}
        title={`Template #${t.id}`}
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
          <PropList
            items={[
              ["Lines", t.count.toLocaleString("en")],
              ["First seen", <Time value={t.first_seen} />],
              ["Last seen", <Time value={t.last_seen} />],
              ["Rising", risingText(t.rising), "mono"],
              [
                "Services",
                t.services.length ? (
                  <div className="chips">
                    {t.services.map((s) => (
                      <span className="chip" key={s}>
                        {s}
                      </span>
                    ))}
                  </div>
                ) : (
                  <span className="faint">—</span>
                ),
              ],
              t.merged_ids.length > 0 && ["Merged ids", t.merged_ids.map((m) => `#${m}`).join(", "), "mono"],
              [
                "Lines per hour",
                <TrendBars trend={t.trend} start={t.trend_start} stepSeconds={t.trend_step_seconds} width={480} height={64} />,
              ],
            ]}
          />
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
