package budget

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON prints the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// share prints a probability with its interval: "3.5% (3.1-3.9)", or for
// none seen, the bound the dumps allow: "0 of 4000 (< 0.096%)".
func share(i Interval) string {
	switch {
	case i.K < 0:
		return "-"
	case i.K == 0:
		return fmt.Sprintf("0 of %d (< %s)", i.N, pct(i.High))
	}
	return fmt.Sprintf("%s (%s-%s)", pct(i.P), pct(i.Low), pct(i.High))
}

// successWords prints a success share exactly: 99.9%, 99.99%.
func successWords(s float64) string { return strconv.FormatFloat(100*s, 'f', -1, 64) + "%" }

func pct(p float64) string {
	v := 100 * p
	switch {
	case v < 1e-9:
		return "~0%"
	case v >= 10:
		return fmt.Sprintf("%.0f%%", v)
	case v >= 1:
		return fmt.Sprintf("%.1f%%", v)
	case v >= 0.01:
		return fmt.Sprintf("%.2g%%", v)
	}
	return fmt.Sprintf("%.1e%%", v)
}

// WriteTable prints a row per cell: the churn it had, the dumps it rests
// on, the measured probability that 1, 5 and 30 attempts all fail with
// the model's beside it, and the budgets for 99.9% and 99.99%.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if r.Exec != nil {
		fmt.Fprintf(tw, "LINKS\tRATE/s\tRUNS\tFAILED (exhausted its retries)\n")
		for _, c := range r.Cells {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", c.Links, rate(c), c.Runs, share(*c.Exhausted))
		}
		return r.footer(w, tw)
	}
	head := []string{"LINKS", "RATE/s", "DUMPS", "ATTEMPT", "CHUNKS"}
	for _, n := range Budgets {
		head = append(head, fmt.Sprintf("P(%d FAIL)", n), "MODEL")
	}
	for _, s := range Successes {
		head = append(head, "BUDGET "+successWords(s))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, c := range r.Cells {
		row := []string{fmt.Sprint(c.Links), rate(c), fmt.Sprint(c.Dumps), fmt.Sprintf("%.2fms", 1000*c.AttemptTime), fmt.Sprintf("%.0f", c.Chunks)}
		for i := range Budgets {
			m := "-"
			if i < len(c.Model) && c.Fail[i].K >= 0 {
				m = pct(c.Model[i])
				if !c.Agree[i] {
					m += " !"
				}
			}
			row = append(row, share(c.Fail[i]), m)
		}
		for i := range Successes {
			if c.Need[i] > 0 {
				row = append(row, fmt.Sprint(c.Need[i]))
			} else {
				row = append(row, "-")
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := r.footer(w, tw); err != nil {
		return err
	}
	fmt.Fprintf(w, "model: p = min(1, %.2f x rate x exposed window) per attempt, attempts independent; ! marks a cell where the measurement's 95%% interval excludes it\n", r.K)
	for _, c := range r.Cells {
		for i, s := range Successes {
			if c.Need[i] == 0 && c.NeedWhy[i] != "" {
				fmt.Fprintf(w, "%d links at %s/s, budget for %s: %s\n", c.Links, rate(c), successWords(s), c.NeedWhy[i])
			}
		}
	}
	return nil
}

func (r *Report) footer(w io.Writer, tw *tabwriter.Writer) error {
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.Cells {
		if c.Short {
			fmt.Fprintf(w, "%d links: the churn reached %.1f of the %.4g changes/s asked\n", c.Links, c.Rate, c.Asked)
		}
	}
	if r.Stopped != "" {
		fmt.Fprintf(w, "stopped early (%s): the cells above were measured\n", r.Stopped)
	}
	return nil
}

func rate(c *Cell) string {
	s := fmt.Sprintf("%.4g", c.Asked)
	if c.Short {
		s += fmt.Sprintf(" (%.1f)", c.Rate)
	}
	return s
}
