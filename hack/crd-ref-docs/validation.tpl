{{- /* Validation markers as people write them: crd-ref-docs formats numeric bounds as
floats (1.6777216e+07); integral ones print as integers. */ -}}
{{- define "validation" -}}
{{- if regexMatch "^[A-Za-z]+: -?[0-9.]+e[+-]?[0-9]+$" . -}}
{{ regexReplaceAll ": .*$" . "" }}: {{ regexReplaceAll "^[A-Za-z]+: " . "" | float64 | int64 }}
{{- else -}}
{{ markdownRenderFieldDoc . }}
{{- end -}}
{{- end -}}
