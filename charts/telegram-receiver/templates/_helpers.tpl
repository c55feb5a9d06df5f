{{/* Names, labels and the pieces every component shares. */}}

{{- define "tr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tr.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Object name of a component: (dict "root" $ "component" "gateway") */}}
{{- define "tr.componentName" -}}
{{- printf "%s-%s" (include "tr.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tr.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tr.labels" -}}
{{ include "tr.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: telegram-receiver
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "tr.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The one place that says how each service starts inside the image (see the Dockerfile): the production
build (`make build`, services/<name>/dist/main.js) with source maps; `--conditions=production` makes
`@telegram-receiver/core/register` resolve to its build too. Our services load the tracing bootstrap
first (`--import`; it exports only when OTEL_EXPORTER_OTLP_ENDPOINT is set, see
docs/observability.md); the sandbox stands in for outside services and is not traced. The V8 heap
flags are sized from measurements, per component (docs/operations.md, "Memory"): a small young
generation, an old-space cap well under the container's memory limit, and no optimising compiler
for the metrics service. scripts/build.ts (productionNodeArgs) says the same; a chart
test checks it.
*/}}
{{- define "tr.command" -}}
{{- $entries := dict "gateway" "services/gateway/dist/main.js" "worker" "services/worker/dist/main.js" "metrics" "services/metrics/dist/main.js" "sandbox" "packages/sandbox/dist/main.js" -}}
{{- $oldSpaceMiB := dict "gateway" 128 "worker" 192 "metrics" 64 "sandbox" 128 -}}
{{- $entry := get $entries . | required (printf "no entry for component %s" .) -}}
{{- $heap := printf "--max-old-space-size=%v" (get $oldSpaceMiB .) -}}
{{- $interpreted := eq . "metrics" -}}
{{- if eq . "sandbox" }}
command: ["node", "--enable-source-maps", "--max-semi-space-size=2", {{ $heap | quote }}, {{ $entry | quote }}]
{{- else }}
command: ["node", "--conditions=production", "--max-semi-space-size=2", {{ $heap | quote }},{{ if $interpreted }} "--no-turbofan", "--no-maglev", "--optimize-for-size",{{ end }} "--import", "@telegram-receiver/core/register", {{ $entry | quote }}]
{{- end }}
{{- end -}}

{{/* Pod-level settings every component shares: pull secrets, security context, no API token. */}}
{{- define "tr.podDefaults" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The container security context and the writable /tmp a read-only root filesystem needs. */}}
{{- define "tr.containerDefaults" -}}
image: {{ include "tr.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{- end -}}

{{- define "tr.secretName" -}}
{{- default (include "tr.componentName" (dict "root" . "component" "secrets")) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "tr.sandboxUrl" -}}
{{- printf "http://%s:%d" (include "tr.componentName" (dict "root" . "component" "sandbox")) (int .Values.sandbox.port) -}}
{{- end -}}

{{- define "tr.gatewayUrl" -}}
{{- printf "http://%s:%d" (include "tr.componentName" (dict "root" . "component" "gateway")) (int .Values.gateway.service.port) -}}
{{- end -}}

{{- define "tr.webhookBaseUrl" -}}
{{- if .Values.config.webhookBaseUrl -}}
{{- .Values.config.webhookBaseUrl -}}
{{- else if and .Values.gateway.ingress.enabled .Values.gateway.ingress.host -}}
{{- printf "https://%s" .Values.gateway.ingress.host -}}
{{- else -}}
{{- include "tr.gatewayUrl" . -}}
{{- end -}}
{{- end -}}

{{/* REDIS_URL: the in-cluster StatefulSet, or a Secret (an external URL may carry a password). */}}
{{- define "tr.redisEnv" -}}
- name: REDIS_URL
{{- if .Values.redis.enabled }}
  value: {{ printf "redis://%s:6379/0" (include "tr.componentName" (dict "root" . "component" "redis")) | quote }}
{{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ default (include "tr.componentName" (dict "root" . "component" "redis-url")) .Values.redis.existingSecret }}
      key: {{ if .Values.redis.existingSecret }}{{ .Values.redis.urlKey }}{{ else }}REDIS_URL{{ end }}
{{- with .Values.redis.sentinel.sentinels }}
- name: REDIS_SENTINELS
  value: {{ join "," . | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ $.Values.redis.sentinel.masterName | quote }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default (include "tr.componentName" (dict "root" $ "component" "redis-url")) $.Values.redis.existingSecret }}
      key: {{ $.Values.redis.sentinel.passwordKey }}
      optional: true
{{- end }}
{{- with .Values.redis.cluster.nodes }}
{{- if $.Values.redis.sentinel.sentinels }}{{ fail "set redis.sentinel.sentinels or redis.cluster.nodes, not both" }}{{ end }}
{{- if not (regexMatch "^[^{]*\\{[^}]+\\}" $.Values.config.queuePrefix) }}{{ fail (printf "redis.cluster.nodes needs a hash tag in config.queuePrefix so every key of the release is in one slot: set config.queuePrefix={%s}" (trimAll "{}" $.Values.config.queuePrefix | default "tr")) }}{{ end }}
- name: REDIS_CLUSTER_NODES
  value: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* OTEL_* of one component: (dict "root" $ "component" "gateway") */}}
{{- define "tr.otelEnv" -}}
{{- $otel := .root.Values.otel -}}
- name: OTEL_SERVICE_NAME
  value: {{ printf "telegram-receiver-%s" .component | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=telegram-receiver,k8s.namespace.name=%s,service.version=%s%s" .root.Release.Namespace .root.Chart.AppVersion (ternary (printf ",%s" $otel.resourceAttributes) "" (ne $otel.resourceAttributes "")) | quote }}
{{- if $otel.enabled }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ required "otel.endpoint is required when otel.enabled" $otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $otel.protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $otel.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $otel.samplerArg | quote }}
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- end -}}

{{/* What the gateway and the worker share: Redis, queue prefix, bots and their secrets, upstream URLs. */}}
{{- define "tr.appEnv" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
- name: NODE_ENV
  value: production
- name: LOG_LEVEL
  value: {{ $v.config.logLevel | quote }}
- name: QUEUE_PREFIX
  value: {{ $v.config.queuePrefix | quote }}
- name: BOT_NAME
  value: {{ $v.config.botName | quote }}
{{ include "tr.redisEnv" $root }}
{{- range $name := list "TELEGRAM_BOT_TOKEN" "TELEGRAM_WEBHOOK_SECRET" "WEBHOOK_SECRET" "ADMIN_SECRET" "ELEVENLABS_API_KEY" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "tr.secretName" $root }}
      key: {{ $name }}
      optional: true
{{- end }}
{{- if or $v.secrets.bots $v.secrets.existingSecret }}
- name: BOTS_FILE
  value: /etc/telegram-receiver/bots/bots.json
{{- end }}
- name: TELEGRAM_API_URL
  value: {{ ternary (include "tr.sandboxUrl" $root) $v.config.telegramApiUrl $v.sandbox.enabled | quote }}
- name: TELEGRAM_WEBHOOK_BASE_URL
  value: {{ include "tr.webhookBaseUrl" $root | quote }}
{{ include "tr.otelEnv" . }}
{{- end -}}

{{/* The bots file volume (only when there is one): the Secret's `bots.json` key. */}}
{{- define "tr.botsVolume" -}}
{{- if or .Values.secrets.bots .Values.secrets.existingSecret }}
- name: bots
  secret:
    secretName: {{ include "tr.secretName" . }}
    optional: true
    items:
      - key: bots.json
        path: bots.json
{{- end }}
{{- end -}}

{{- define "tr.botsMount" -}}
{{- if or .Values.secrets.bots .Values.secrets.existingSecret }}
- name: bots
  mountPath: /etc/telegram-receiver/bots
  readOnly: true
{{- end }}
{{- end -}}

{{/* Seconds the kubelet waits after SIGTERM: the service's own grace plus a margin for the exit. */}}
{{- define "tr.terminationGrace" -}}
{{- add (div (add . 999) 1000) 5 -}}
{{- end -}}
