package main

import (
	"fmt"
	"image/color"
	"os"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	opColor    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	baseColor  = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	floorColor = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
)

// writeCharts draws two panels into one PNG: time to ready vs N for the operator, the
// Kubernetes floor and the baseline, and Talis calls per set.
func writeCharts(path string, res *Results) error {
	all := append([]Convergence(nil), res.Convergence...)
	if res.Scale != nil {
		all = append(all, *res.Scale)
	}
	if len(all) == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].N < all[j].N })

	ttr := plot.New()
	ttr.Title.Text = fmt.Sprintf("Time to Ready vs N (%d replicas per set)", all[0].Replicas)
	ttr.X.Label.Text = "TalisInstanceSets applied at once (N)"
	ttr.Y.Label.Text = "seconds"
	ttr.X.Scale, ttr.X.Tick.Marker = plot.LogScale{}, nTicks(append(append([]Convergence(nil), all...), res.Capped...))
	ttr.Legend.Top, ttr.Legend.Left = true, true
	ttr.Add(plotter.NewGrid())
	var opWall, opP50, opP99, flWall, blWall, blP50 plotter.XYs
	for _, cv := range all {
		x := float64(cv.N)
		opWall = append(opWall, plotter.XY{X: x, Y: cv.Operator.WallSeconds})
		opP50 = append(opP50, plotter.XY{X: x, Y: cv.Operator.TTRP50})
		opP99 = append(opP99, plotter.XY{X: x, Y: cv.Operator.TTRP99})
		if cv.Floor != nil {
			flWall = append(flWall, plotter.XY{X: x, Y: cv.Floor.WallSeconds})
		}
		if cv.Baseline != nil {
			blWall = append(blWall, plotter.XY{X: x, Y: cv.Baseline.WallSeconds})
			blP50 = append(blP50, plotter.XY{X: x, Y: cv.Baseline.TTRP50})
		}
	}
	// Against a capped Talis (the dispatch cap, not the operator, sets the pace).
	var capOp, capBl plotter.XYs
	for _, cv := range res.Capped {
		capOp = append(capOp, plotter.XY{X: float64(cv.N), Y: cv.Operator.WallSeconds})
		if cv.Baseline != nil {
			capBl = append(capBl, plotter.XY{X: float64(cv.N), Y: cv.Baseline.WallSeconds})
		}
	}
	addLine := func(name string, xys plotter.XYs, c color.Color, dashed bool, shape draw.GlyphDrawer) error {
		if len(xys) == 0 {
			return nil
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		l.Color, s.Color, s.Shape, s.Radius = c, c, shape, vg.Points(3)
		l.Width = vg.Points(1.5)
		if dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		ttr.Add(l, s)
		ttr.Legend.Add(name, l, s)
		return nil
	}
	for _, err := range []error{
		addLine("operator: all Ready (wall)", opWall, opColor, false, draw.CircleGlyph{}),
		addLine("operator: per set p50", opP50, opColor, true, draw.TriangleGlyph{}),
		addLine("operator: per set p99", opP99, opColor, true, draw.SquareGlyph{}),
		addLine("Kubernetes floor: all Ready (wall)", flWall, floorColor, false, draw.PlusGlyph{}),
		addLine("baseline: all ready (wall)", blWall, baseColor, false, draw.CircleGlyph{}),
		addLine("baseline: per set p50", blP50, baseColor, true, draw.TriangleGlyph{}),
		addLine("operator, Talis capped: all Ready (wall)", capOp, opColor, true, draw.CrossGlyph{}),
		addLine("baseline, Talis capped: all ready (wall)", capBl, baseColor, true, draw.RingGlyph{}),
	} {
		if err != nil {
			return err
		}
	}
	ttr.Y.Min = 0
	top := 0.0
	for _, xys := range []plotter.XYs{opWall, opP99, flWall, blWall, capOp, capBl} {
		for _, p := range xys {
			top = max(top, p.Y)
		}
	}
	ttr.Y.Max = 1.5 * top // room for the legend above the points

	calls := plot.New()
	calls.Title.Text = "Talis calls per set (convergence)"
	calls.Y.Label.Text = "calls per set"
	calls.Legend.Top = true
	calls.Add(plotter.NewGrid())
	var names []string
	var opV, blV plotter.Values
	for _, cv := range all {
		names = append(names, fmt.Sprintf("N=%d", cv.N))
		opV = append(opV, cv.Operator.CallsPerSet)
		if cv.Baseline != nil {
			blV = append(blV, cv.Baseline.CallsPerSet)
		} else {
			blV = append(blV, 0)
		}
	}
	w := vg.Points(18)
	ob, err := plotter.NewBarChart(opV, w)
	if err != nil {
		return err
	}
	ob.Color, ob.LineStyle.Width, ob.Offset = opColor, 0, -w/2
	bb, err := plotter.NewBarChart(blV, w)
	if err != nil {
		return err
	}
	bb.Color, bb.LineStyle.Width, bb.Offset = baseColor, 0, w/2
	calls.Add(ob, bb)
	calls.Legend.Add("operator", ob)
	calls.Legend.Add("direct-API baseline", bb)
	calls.NominalX(names...)
	top = 0
	for i := range opV {
		top = max(top, opV[i], blV[i])
	}
	calls.Y.Min, calls.Y.Max = 0, 1.35*top // room for the legend above the bars

	img := vgimg.New(vg.Points(900), vg.Points(380))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24), PadTop: vg.Points(8), PadBottom: vg.Points(8),
		PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	plots := [][]*plot.Plot{{ttr, calls}}
	canvases := plot.Align(plots, tiles, dc)
	ttr.Draw(canvases[0][0])
	calls.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(f)
	return err
}

// nTicks labels exactly the measured sizes on the log axis.
func nTicks(all []Convergence) plot.Ticker {
	var ticks []plot.Tick
	seen := map[int]bool{}
	for _, cv := range all {
		if !seen[cv.N] {
			seen[cv.N] = true
			ticks = append(ticks, plot.Tick{Value: float64(cv.N), Label: fmt.Sprint(cv.N)})
		}
	}
	return plot.ConstantTicks(ticks)
}
