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
The chart sets these variables itself, from values that say what they mean.
*/}}
{{- define "talis-operator.validateExtraEnv" -}}
{{- $owned := dict "GOMEMLIMIT" "goMemLimitPercent" "TALIS_URL" "talis.url" "TALIS_API_KEY" "talis.apiKeySecret" }}
{{- range $env := .Values.extraEnv }}
{{- with get $owned $env.name }}
{{- fail (printf "extraEnv: the chart sets %s itself; use %s instead" $env.name .) }}
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
