{{- define "agentdeck.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "agentdeck.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "agentdeck.labels" -}}
app.kubernetes.io/name: {{ include "agentdeck.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "agentdeck.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agentdeck.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "agentdeck.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "agentdeck.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "agentdeck.secretName" -}}
{{- default (include "agentdeck.fullname" .) .Values.secretKey.existingSecret -}}
{{- end -}}

{{/* Refuse settings that cannot work: several replicas need shared state and one key. */}}
{{- define "agentdeck.validate" -}}
{{- if and (not .Values.secretKey.existingSecret) (not .Values.secretKey.value) -}}
{{- fail "set secretKey.value or secretKey.existingSecret: agentdeck has no default secret key" -}}
{{- end -}}
{{- if and (not .Values.database.url) (not .Values.database.existingSecret) -}}
{{- fail "set database.url (postgresql+asyncpg://...) or database.existingSecret" -}}
{{- end -}}
{{- $replicas := int .Values.replicaCount -}}
{{- if .Values.autoscaling.enabled -}}{{- $replicas = int .Values.autoscaling.maxReplicas -}}{{- end -}}
{{- if gt $replicas 1 -}}
{{- if not .Values.redis.url -}}
{{- fail "several replicas share their bus, rate limits and leases through Redis: set redis.url" -}}
{{- end -}}
{{- if ne .Values.metricsStore.backend "victoriametrics" -}}
{{- fail "several replicas need metricsStore.backend=victoriametrics (DuckDB is one process)" -}}
{{- end -}}
{{- if ne .Values.logStore.backend "clickhouse" -}}
{{- fail "several replicas need logStore.backend=clickhouse (DuckDB is one process)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
