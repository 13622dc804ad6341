package main

import (
	"fmt"
	"strings"
	"time"
)

// foreignSection compares the same sets against a Talis without and with rows of other owners.
func foreignSection(p func(string, ...any), res *Results) {
	f := res.Foreign
	if f == nil || len(f.Runs) == 0 {
		return
	}
	counts := make([]string, len(f.ForeignInstances))
	for i, n := range f.ForeignInstances {
		counts[i] = fmt.Sprint(n)
	}
	p("### Foreign instances (%d sets × %d replicas on a Talis that also holds %s ready instances of %d other owners)\n\n",
		f.Sets, f.Runs[0].Convergence.Replicas, strings.Join(counts, " or "), f.Owners)
	p("| |")
	for _, r := range f.Runs {
		p(" %d foreign instances |", r.ForeignInstances)
	}
	p("\n|---|%s\n", strings.Repeat("---:|", len(f.Runs)))
	row := func(name string, v func(ForeignRun) string) {
		p("| %s |", name)
		for _, r := range f.Runs {
			p(" %s |", v(r))
		}
		p("\n")
	}
	op := func(r ForeignRun) RunResult { return r.Convergence.Operator }
	row("seeding the emulator (s)", func(r ForeignRun) string { return fmt.Sprintf("%.2f", r.SeedSeconds) })
	row("wall time to all Ready (s)", func(r ForeignRun) string {
		if cv := r.Convergence; cv.NotReady > 0 {
			return fmt.Sprintf("**never**: %d of %d sets not Ready after %.0f s", cv.NotReady, cv.N, op(r).WallSeconds)
		}
		return fmt.Sprintf("**%.1f**", op(r).WallSeconds)
	})
	if notReady(f) {
		row("why not Ready (first set's Ready condition)", func(r ForeignRun) string {
			if r.Convergence.NotReady == 0 {
				return "–"
			}
			return strings.ReplaceAll(r.Convergence.NotReadyReason, "|", "\\|")
		})
	}
	row("time to ready per set p50 / p99 (s)", func(r ForeignRun) string { return fmt.Sprintf("%.2f / %.2f", op(r).TTRP50, op(r).TTRP99) })
	row("burst apply → first create p50 / p99 (ms)", func(r ForeignRun) string {
		return fmt.Sprintf("%.0f / %.0f", r.Convergence.ApplyLatency.P50ms, r.Convergence.ApplyLatency.P99ms)
	})
	row("Talis calls (per set)", func(r ForeignRun) string { return fmt.Sprintf("%d (%.2f)", op(r).Calls, op(r).CallsPerSet) })
	row("Talis response bytes (per set)", func(r ForeignRun) string {
		return fmt.Sprintf("**%s** (%s)", bytesOf(float64(op(r).TalisBytes)), bytesOf(op(r).TalisBytesPerSet))
	})
	row("&nbsp;&nbsp;instance lists: calls, bytes per call, serving time per call", func(r ForeignRun) string {
		return perList(op(r).CallsByRoute[listRoute], float64(op(r).TalisBytesByRoute[listRoute]), op(r).TalisServingSeconds[listRoute])
	})
	row("&nbsp;&nbsp;project pages (project.listInstances): calls, bytes per call, serving time per call", func(r ForeignRun) string {
		return perList(op(r).CallsByRoute[pagesRoute], float64(op(r).TalisBytesByRoute[pagesRoute]), op(r).TalisServingSeconds[pagesRoute])
	})
	row("manager CPU (s)", func(r ForeignRun) string { return fmt.Sprintf("%.1f", op(r).Manager.CPUSeconds) })
	row("manager peak RSS / heap in use (MiB)", func(r ForeignRun) string {
		return fmt.Sprintf("%.0f / %.0f", op(r).Manager.PeakRSSMiB, op(r).Manager.PeakHeapMiB)
	})
	st := func(r ForeignRun) Steady { return r.Steady }
	row("steady: Talis calls per hour per endpoint", func(r ForeignRun) string {
		return fmt.Sprintf("**%.0f**<br>%s", st(r).CallsPerHourPerEndpoint, byRoute(st(r).CallsPerHourByRoute, func(v float64) string { return fmt.Sprintf("%.0f", v) }))
	})
	row("steady: response bytes per hour per endpoint", func(r ForeignRun) string {
		return fmt.Sprintf("**%s**<br>%s", bytesOf(st(r).BytesPerHour), byRoute(st(r).BytesPerHourByRoute, bytesOf))
	})
	// The compressed drift poll can ask for lists faster than big lists are served; at the
	// defaults the poll alone makes one list per drift interval, each as big as measured.
	row("steady: instance-list bytes per hour at the defaults (whole lists: bytes per list × one per drift interval; project pages: as measured)", func(r ForeignRun) string {
		if b := listBytesPerHourAtDefaults(st(r)); b > 0 {
			return bytesOf(b)
		}
		return "–"
	})
	row("steady: manager CPU per hour (s)", func(r ForeignRun) string { return fmt.Sprintf("%.1f", st(r).ManagerCPUSecondsPerHour) })
	row("steady: emulator time serving lists and pages in the window (s)", func(r ForeignRun) string {
		return fmt.Sprintf("%.1f of %.0f", st(r).ServingSecondsByRoute[listRoute]+st(r).ServingSecondsByRoute[pagesRoute], st(r).WindowSeconds)
	})
	p("\nForeign rows: ready `do` instances with three tags and one volume (no `tio-set` tag), %d per project, in projects of %d owners other than the operator's, stored directly in the emulator (`SeedReadyInstances`; they read on the wire like instances created over HTTP). `GET /api/v1/instances` lists every owner's rows, as upstream does, so each whole list carries them; where they are most of it, the operator pages through its own projects instead (`project.listInstances`, see Method). Steady state as above (defaults ÷ %d, drift poll on); bytes are response bodies as the emulator wrote them. A serving time close to the window means the compressed clocks asked for lists faster than they could be served, and the per-hour figures undercount.\n\n",
		foreignPerProject, f.Owners, f.Runs[0].Steady.K)
}

func notReady(f *Foreign) bool {
	for _, r := range f.Runs {
		if r.Convergence.NotReady > 0 {
			return true
		}
	}
	return false
}

func perList(calls int64, bytes, seconds float64) string {
	if calls == 0 {
		return "0"
	}
	return fmt.Sprintf("%d, %s, %.0f ms", calls, bytesOf(bytes/float64(calls)), seconds*1000/float64(calls))
}

func byRoute(m map[string]float64, f func(float64) string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s: %s", k, f(m[k])))
	}
	return strings.Join(parts, "<br>")
}

// bytesOf prints a byte count in binary units.
func bytesOf(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

// listBytesPerHourAtDefaults is what the drift poll's lists weigh in an hour at the default
// interval: the compressed clocks can ask for big lists faster than they are served, so the
// window's bytes per list count, not its number of lists. An endpoint polled by project pages
// is served fast enough for the window to make every poll: its bytes count as measured, with
// the whole lists it fell back to. 0 if the window made no list.
func listBytesPerHourAtDefaults(s Steady) float64 {
	if s.CallsPerHourByRoute[pagesRoute] > 0 {
		return s.BytesPerHourByRoute[listRoute] + s.BytesPerHourByRoute[pagesRoute]
	}
	calls := s.CallsPerHourByRoute[listRoute] / s.Extrapolation
	if calls == 0 {
		return 0
	}
	return s.BytesPerHourByRoute[listRoute] / calls * float64(time.Hour/defaultDriftInterval) / s.Extrapolation
}
