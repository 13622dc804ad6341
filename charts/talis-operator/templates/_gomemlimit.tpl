{{/*
GOMEMLIMIT in bytes: goMemLimitPercent of resources.limits.memory, empty without a limit or at 0%.
The limit is a soft one on the memory the Go runtime manages; what it does not see (kernel memory
and page cache charged to the container, memory not yet returned to the OS) needs room too, or the
container is OOM-killed just when the GC should start working harder. The Go GC guide suggests
5-10% of headroom, hence the 90% default.
*/}}
{{- define "talis-operator.goMemLimit" -}}
{{- $limit := dig "limits" "memory" "" (.Values.resources | default dict) }}
{{- $percent := int (.Values.goMemLimitPercent | default 0) }}
{{- if and $limit $percent }}
{{- $q := kindIs "string" $limit | ternary $limit (printf "%d" (int64 $limit)) }}
{{- $format := "^([0-9]+(\\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$" }}
{{- if not (regexMatch $format $q) }}
{{- fail (printf "resources.limits.memory %q: to derive GOMEMLIMIT from it, write a number of bytes with an optional k, M, G, T, P, Ki, Mi, Gi, Ti or Pi suffix (e.g. 256Mi), or set goMemLimitPercent: 0" $q) }}
{{- end }}
{{- $number := regexReplaceAll $format $q "${1}" }}
{{- $unit := regexReplaceAll $format $q "${3}" }}
{{- $scale := dict "" 1 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 }}
{{- divf (mulf (float64 $number) (get $scale $unit) $percent) 100 | floor | int64 }}
{{- end }}
{{- end }}
