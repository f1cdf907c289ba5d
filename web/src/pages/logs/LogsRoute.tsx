/** /logs: the page loads as a chunk of its own (virtualised list, histogram, LogQL completion). */
import { lazy, Suspense, type ReactNode } from "react";
import { Loading } from "../../components/ui";

const LogsPage = lazy(() => import("./LogsPage").then((m) => ({ default: m.LogsPage })));

export function LogsRoute(): ReactNode {
  return (
    <Suspense fallback={<Loading />}>
      <LogsPage />
    </Suspense>
  );
}
