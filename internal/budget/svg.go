package budget

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Plot geometry, in SVG user units.
const (
	plotW, plotH           = 760, 500
	left, right, top, foot = 80, 170, 50, 60
	floorP                 = 1e-6 // the lowest probability drawn
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// WriteSVG plots, against the churn rate, the probability that 1 attempt
// fails (dotted), 5 in a row (solid) and 30 (dashed: the budgets real
// projects use), one colour per link count.
// A filled point is measured; an open one with a bar down to the axis is
// a cell where none failed, drawn at the upper bound its dumps allow. The
// SVG stands alone: no script, no external font or style.
func (r *Report) WriteSVG(w io.Writer) error {
	var b strings.Builder
	f := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	rates := r.rates()
	if len(rates) == 0 {
		return fmt.Errorf("no cell measured: nothing to plot")
	}
	// Half a decade of margin, so that no point sits on the frame.
	lo, hi := math.Log10(rates[0])-0.5, math.Log10(rates[len(rates)-1])+0.5
	x := func(rate float64) float64 {
		return left + (math.Log10(rate)-lo)/(hi-lo)*(plotW-left-right)
	}
	y := func(p float64) float64 {
		p = math.Max(p, floorP)
		return top + (-math.Log10(p))/(-math.Log10(floorP))*(plotH-top-foot)
	}
	f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH, plotW, plotH)
	f(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	f(`<text x="%d" y="24" font-size="15">P(all N attempts of a %s dump fail) against churn</text>`+"\n", left, r.Kind)
	// Axes and grid: decades of probability, the rates measured.
	for e := 0; e >= int(math.Log10(floorP)); e-- {
		yy := y(math.Pow(10, float64(e)))
		f(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, yy, plotW-right, yy)
		f(`<text x="%d" y="%.1f" text-anchor="end">1e%d</text>`+"\n", left-6, yy+4, e)
	}
	for _, rt := range rates {
		xx := x(rt)
		f(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", xx, top, xx, plotH-foot)
		f(`<text x="%.1f" y="%d" text-anchor="middle">%.4g</text>`+"\n", xx, plotH-foot+16, rt)
	}
	f(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", left, top, plotW-left-right, plotH-top-foot)
	f(`<text x="%d" y="%d" text-anchor="middle">link changes per second (paced)</text>`+"\n", (left+plotW-right)/2, plotH-18)
	f(`<text transform="translate(20 %d) rotate(-90)" text-anchor="middle">probability, log scale</text>`+"\n", (top+plotH-foot)/2)
	for li, links := range r.LinkCounts() {
		colour := palette[li%len(palette)]
		for bi, n := range Budgets {
			dash := map[int]string{1: ` stroke-dasharray="2 3" stroke-opacity="0.6"`, 30: ` stroke-dasharray="6 4"`}[n]
			var pts []string
			for _, c := range r.Cells {
				if c.Links != links || bi >= len(c.Fail) || c.Fail[bi].K < 0 {
					continue
				}
				in := c.Fail[bi]
				xx := x(c.Asked)
				if in.K == 0 {
					// Only a bound: a marker, never a point of the line.
					yy := y(in.High)
					f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1"/>`+"\n", xx, yy, xx, y(floorP), colour)
					f(`<circle cx="%.1f" cy="%.1f" r="4" fill="white" stroke="%s"/>`+"\n", xx, yy, colour)
					continue
				}
				yy := y(in.P)
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xx, yy))
				f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", xx, y(in.High), xx, y(in.Low), colour)
				f(`<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", xx, yy, colour)
			}
			if len(pts) > 1 {
				f(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), colour, dash)
			}
		}
		ly := top + 10 + 22*li
		f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", plotW-right+14, ly, plotW-right+40, ly, colour)
		f(`<text x="%d" y="%d">%d links</text>`+"\n", plotW-right+46, ly+4, links)
	}
	ly := top + 10 + 22*len(r.LinkCounts()) + 10
	for i, l := range []string{"dotted: 1 attempt", "solid: 5 in a row", "dashed: 30 in a row", "bars: 95% intervals", "open: none failed;", "below the 95% bound"} {
		f(`<text x="%d" y="%d">%s</text>`+"\n", plotW-right+14, ly+18*i, l)
	}
	f("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// rates lists the rates asked in the measured cells, in order.
func (r *Report) rates() []float64 {
	var out []float64
	for _, c := range r.Cells {
		if !slices.Contains(out, c.Asked) {
			out = append(out, c.Asked)
		}
	}
	slices.Sort(out)
	return out
}
