package budget

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nltrace/nltrace/internal/testenv"
)

// plotReport is a small grid with every kind of point: measured with an
// interval, none failed (drawn at the bound), and a budget not measured.
func plotReport() *Report {
	r := &Report{Kind: 1, Attempts: 30}
	for _, links := range []int{100, 1000} {
		for _, rate := range []float64{1, 10, 100} {
			c := &Cell{Links: links, Asked: rate, Rate: rate, Dumps: 5000}
			p := float64(links) * rate / 1e5
			k := int(p * 5000)
			c.Fail = []Interval{wilson(k, 5000), wilson(k/10, 5000), wilson(0, 5000)}
			r.Cells = append(r.Cells, c)
		}
	}
	return r
}

// TestSVGRenders writes the plot and has librsvg, as a browser or a
// README viewer would, render it to PNG: the file is valid standalone SVG.
func TestSVGRenders(t *testing.T) {
	var buf bytes.Buffer
	if err := plotReport().WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(buf.Bytes(), new(struct{})); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	rsvg, err := exec.LookPath("rsvg-convert")
	testenv.Need(t, "rsvg", err)
	dir := t.TempDir()
	svg, pngPath := filepath.Join(dir, "budget.svg"), filepath.Join(dir, "budget.png")
	if err := os.WriteFile(svg, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(rsvg, "-o", pngPath, svg).CombinedOutput(); err != nil {
		t.Fatalf("rsvg-convert: %v\n%s", err, out)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("rsvg-convert wrote no PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != plotW || b.Dy() != plotH {
		t.Errorf("rendered %v, want %dx%d", b, plotW, plotH)
	}
	// Something was drawn in colour: the lines of the link counts.
	coloured := 0
	for y := 0; y < plotH; y += 2 {
		for x := 0; x < plotW; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			if r != g || g != b {
				coloured++
			}
		}
	}
	if coloured < 200 {
		t.Errorf("only %d coloured pixels sampled: the plot's lines are missing", coloured)
	}
}

func TestSVGNeedsACell(t *testing.T) {
	if err := (&Report{}).WriteSVG(new(bytes.Buffer)); err == nil {
		t.Error("an empty report plotted")
	}
}
