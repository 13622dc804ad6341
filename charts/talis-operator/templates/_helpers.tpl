{{/*
Chart name, truncated to the 63 characters a label value allows.
*/}}
{{- define "talis-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name of the release's objects; a release named like the chart is not repeated.
*/}}
{{- define "talis-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "talis-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "talis-operator.labels" -}}
helm.sh/chart: {{ include "talis-operator.chart" . }}
{{ include "talis-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels that select the manager's pods.
*/}}
{{- define "talis-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "talis-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end }}

{{- define "talis-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (printf "%s-controller-manager" (include "talis-operator.fullname" .)) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The manager image: by digest when one is given, so the pods run exactly that image whatever the tag.
*/}}
{{- define "talis-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Whether the metrics endpoint checks its callers (and so needs the metrics auth roles).
*/}}
{{- define "talis-operator.secureMetrics" -}}
{{- if and .Values.metrics.enabled .Values.metrics.secure }}true{{ end }}
{{- end }}

{{/*
Directory the Talis CA bundle is mounted at.
*/}}
{{- define "talis-operator.caBundleDir" -}}
/etc/talis-operator/ca
{{- end }}

{{/*
Whether to render the PodDisruptionBudget: as podDisruptionBudget.enabled says, and when it is
empty only for more than one replica (a single pod has nothing to keep available).
*/}}
{{- define "talis-operator.disruptionBudgetEnabled" -}}
{{- $enabled := toString .Values.podDisruptionBudget.enabled }}
{{- if or (eq $enabled "true") (and (eq $enabled "") (gt (int .Values.replicaCount) 1)) }}true{{ end }}
{{- end }}
