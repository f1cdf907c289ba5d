/** The Logs page: search and tail the tenant's log lines. The query, the range and the live
 * state live in the address (?q=…&range=…|from=…&to=…&live=1), so a copied link reproduces the
 * view. Every role may read it. */
import type { ReactNode } from "react";
import { useSearchParams } from "react-router";
import { LogsExplorer } from "../../components/logs/LogsExplorer";
import { PageHead } from "../../components/ui";
import { logsParams, logsStateFromParams } from "../../lib/logsUrl";

export function LogsPage(): ReactNode {
  const [params, setParams] = useSearchParams();
  const state = logsStateFromParams(params);
  return (
    <>
      <PageHead title="Logs" subtitle="Search and tail what your agents and services write." />
      <LogsExplorer state={state} onChange={(next) => setParams(logsParams(next))} />
    </>
  );
}
