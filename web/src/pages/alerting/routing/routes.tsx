/** Routes of the routing pages, mounted under /alerting. */
import type { RouteObject } from "react-router";
import { EscalationPage } from "./EscalationPage";
import { InhibitionPage } from "./InhibitionPage";
import { ReceiversPage } from "./ReceiversPage";
import { RoutingLayout } from "./RoutingLayout";
import { RoutingTreePage } from "./RoutingTreePage";
import { SilencesPage } from "./SilencesPage";

export const routingRoutes: RouteObject = {
  path: "alerting",
  element: <RoutingLayout />,
  children: [
    { path: "silences", element: <SilencesPage /> },
    { path: "inhibition", element: <InhibitionPage /> },
    { path: "routing", element: <RoutingTreePage /> },
    { path: "receivers", element: <ReceiversPage /> },
    { path: "escalation", element: <EscalationPage /> },
  ],
};
