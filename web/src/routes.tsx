import { Navigate, type RouteObject } from "react-router";
import { RequireAuth } from "./auth/guards";
import { AppLayout } from "./components/AppLayout";
import { AgentDetailPage } from "./pages/agents/AgentDetailPage";
import { AgentCreatePage, AgentEditPage } from "./pages/agents/AgentFormPage";
import { AgentsListPage } from "./pages/agents/AgentsListPage";
import { ChannelsPage } from "./pages/alerting/channels/ChannelsPage";
import { DeliveriesPage } from "./pages/alerting/channels/DeliveriesPage";
import { routingRoutes } from "./pages/alerting/routing/routes";
import { RuleEditorPage } from "./pages/alerting/rules/RuleEditorPage";
import { RulesListPage } from "./pages/alerting/rules/RulesListPage";
import { AlertDetailPage } from "./pages/alerts/AlertDetailPage";
import { AlertingSection } from "./pages/alerts/AlertingTabs";
import { AlertsPage } from "./pages/alerts/AlertsPage";
import { AnomaliesPage } from "./pages/anomalies/AnomaliesPage";
import { AnomalyDetailPage } from "./pages/anomalies/AnomalyDetailPage";
import { NotFound } from "./pages/ComingSoon";
import { DeploymentDetailPage } from "./pages/deployments/DeploymentDetailPage";
import { DeploymentsPage } from "./pages/deployments/DeploymentsPage";
import { ExplorePage } from "./pages/explore/ExplorePage";
import { LoginPage } from "./pages/LoginPage";
import { LogsRoute } from "./pages/logs/LogsRoute";
import { TemplateDetailPage } from "./pages/templates/TemplateDetailPage";
import { TemplatesPage } from "./pages/templates/TemplatesPage";
import { OverviewPage } from "./pages/overview/OverviewPage";
import { StreamsPage } from "./pages/streams/StreamsPage";
import { AccountPage } from "./pages/settings/AccountPage";
import { ApiKeysPage } from "./pages/settings/ApiKeysPage";
import { AuditLogPage } from "./pages/settings/AuditLogPage";
import { SettingsLayout } from "./pages/settings/SettingsLayout";
import { TenantPage } from "./pages/settings/TenantPage";
import { UsersPage } from "./pages/settings/UsersPage";

export const routes: RouteObject[] = [
  { path: "/login", element: <LoginPage /> },
  {
    element: <RequireAuth />,
    children: [
      {
        element: <AppLayout />,
        children: [
          { index: true, element: <Navigate to="/overview" replace /> },
          { path: "overview", element: <OverviewPage /> },
          { path: "agents", element: <AgentsListPage /> },
          { path: "agents/new", element: <AgentCreatePage /> },
          { path: "agents/:agentId", element: <AgentDetailPage /> },
          { path: "agents/:agentId/edit", element: <AgentEditPage /> },
          { path: "explore", element: <ExplorePage /> },
          {
            // Alert instances under /alerts, their configuration under /alerting.
            element: <AlertingSection />,
            children: [
              { path: "alerts", element: <AlertsPage /> },
              { path: "alerts/:alertId", element: <AlertDetailPage /> },
              { path: "alerting", element: <Navigate to="/alerting/rules" replace /> },
              { path: "alerting/rules", element: <RulesListPage /> },
              { path: "alerting/rules/new", element: <RuleEditorPage /> },
              { path: "alerting/rules/:ruleId", element: <RuleEditorPage /> },
              { path: "alerting/channels", element: <ChannelsPage /> },
              { path: "alerting/deliveries", element: <DeliveriesPage /> },
              routingRoutes,
            ],
          },
          { path: "logs", element: <LogsRoute /> },
          { path: "templates", element: <TemplatesPage /> },
          { path: "templates/:templateId", element: <TemplateDetailPage /> },
          { path: "anomalies", element: <AnomaliesPage /> },
          { path: "anomalies/:anomalyId", element: <AnomalyDetailPage /> },
          { path: "log-streams", element: <StreamsPage /> },
          { path: "deployments", element: <DeploymentsPage /> },
          { path: "deployments/:deploymentId", element: <DeploymentDetailPage /> },
          {
            path: "settings",
            element: <SettingsLayout />,
            children: [
              { index: true, element: <Navigate to="/settings/account" replace /> },
              { path: "account", element: <AccountPage /> },
              { path: "users", element: <UsersPage /> },
              { path: "api-keys", element: <ApiKeysPage /> },
              { path: "tenant", element: <TenantPage /> },
              { path: "audit-log", element: <AuditLogPage /> },
            ],
          },
          { path: "*", element: <NotFound /> },
        ],
      },
    ],
  },
];

