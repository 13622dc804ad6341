{{/*
Refuses value combinations that values.schema.json cannot express. deployment.yaml includes it,
so every rendering runs it once.
*/}}
{{- define "talis-operator.validate" -}}
{{- $v := .Values }}
{{- if and (gt (int $v.replicaCount) 1) (not $v.leaderElection.enabled) }}
{{- fail (printf "replicaCount %d needs leaderElection.enabled: without a leader every replica reconciles the same objects and they fight over them" (int $v.replicaCount)) }}
{{- end }}
{{- if and $v.talis.caBundle.configMap $v.talis.caBundle.secret }}
{{- fail "talis.caBundle: set configMap or secret, not both" }}
{{- end }}
{{- if and $v.serviceMonitor.enabled (not $v.metrics.enabled) }}
{{- fail "serviceMonitor.enabled needs metrics.enabled" }}
{{- end }}
{{- if and $v.metrics.enabled (eq (int $v.metrics.port) (int $v.healthProbe.port)) }}
{{- fail (printf "metrics.port and healthProbe.port are both %d: the manager cannot serve both on one port" (int $v.metrics.port)) }}
{{- end }}
{{- include "talis-operator.validateDisruptionBudget" . }}
{{- include "talis-operator.validateExtraEnv" . }}
{{- include "talis-operator.validateExtraArgs" . }}
{{- include "talis-operator.validateExtraVolumes" . }}
{{- end }}

{{/*
A budget that lets no manager pod be evicted makes every node drain hang.
*/}}
{{- define "talis-operator.validateDisruptionBudget" -}}
{{- if include "talis-operator.disruptionBudgetEnabled" . }}
{{- $pdb := .Values.podDisruptionBudget }}
{{- $min := toString $pdb.minAvailable }}
{{- $max := toString $pdb.maxUnavailable }}
{{- $replicas := int .Values.replicaCount }}
{{- if and $min $max }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both" }}
{{- end }}
{{- if and (gt $replicas 0) (not $max) (not (contains "%" $min)) (ge (int ($min | default "1")) $replicas) }}
{{- fail (printf "podDisruptionBudget: minAvailable %s with replicaCount %d lets no manager pod be evicted, so node drains would hang; raise replicaCount or lower minAvailable" ($min | default "1 (the default)") $replicas) }}
{{- end }}
{{- if or (eq $min "100%") (eq $max "0") (eq $max "0%") }}
{{- fail "podDisruptionBudget: minAvailable 100% or maxUnavailable 0 lets no manager pod be evicted, so node drains would hang" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The chart sets these variables itself, from values that say what they mean; the manager reads
the others in the list as defaults of flags the chart sets (and RBAC follows watchNamespaces).
*/}}
{{- define "talis-operator.validateExtraEnv" -}}
{{- $owned := dict "GOMEMLIMIT" "goMemLimitPercent" "TALIS_URL" "talis.url" "TALIS_API_KEY" "talis.apiKeySecret"
  "WATCH_NAMESPACES" "watchNamespaces" "TALIS_ALLOWED_URLS" "talis.allowedURLs" "CLUSTER_ID" "clusterID"
  "TALIS_CA_FILE" "talis.caBundle" }}
{{- $seen := list }}
{{- range $env := .Values.extraEnv }}
{{- with get $owned $env.name }}
{{- fail (printf "extraEnv: %s belongs to the chart value %s; set that instead" $env.name .) }}
{{- end }}
{{- if has $env.name $seen }}
{{- fail (printf "extraEnv: %s is set twice" $env.name) }}
{{- end }}
{{- $seen = append $seen $env.name }}
{{- end }}
{{- end }}

{{/*
Flags the chart sets from values: a second one in extraArgs would silently win or lose, and
--watch-namespaces there would leave the Secret roles cluster-wide.
*/}}
{{- define "talis-operator.validateExtraArgs" -}}
{{- $owned := dict "leader-elect" "leaderElection.enabled" "metrics-bind-address" "metrics.port and metrics.enabled"
  "metrics-secure" "metrics.secure" "health-probe-bind-address" "healthProbe.port" "watch-namespaces" "watchNamespaces"
  "allowed-talis-urls" "talis.allowedURLs" "cluster-id" "clusterID" "default-owner-id" "talis.defaultOwnerID"
  "talis-ca-file" "talis.caBundle" "talis-url" "talis.url" }}
{{- range $arg := .Values.extraArgs }}
{{- $flag := regexReplaceAll "^--?([^=]*).*$" $arg "${1}" }}
{{- with get $owned $flag }}
{{- fail (printf "extraArgs: --%s belongs to the chart value %s; set that instead" $flag .) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Volume names are unique in a pod, and a mount must name a volume of the pod.
*/}}
{{- define "talis-operator.validateExtraVolumes" -}}
{{- $ca := .Values.talis.caBundle }}
{{- $volumes := list }}
{{- if or $ca.configMap $ca.secret }}
{{- $volumes = list "talis-ca" }}
{{- end }}
{{- range .Values.extraVolumes }}
{{- if has .name $volumes }}
{{- fail (printf "extraVolumes: volume %s is defined twice (talis-ca is the chart's CA bundle volume)" .name) }}
{{- end }}
{{- $volumes = append $volumes .name }}
{{- end }}
{{- range .Values.extraVolumeMounts }}
{{- if not (has .name $volumes) }}
{{- fail (printf "extraVolumeMounts: %s mounts volume %s, which is not in extraVolumes" .mountPath .name) }}
{{- end }}
{{- end }}
{{- end }}
