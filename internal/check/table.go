package check

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints a check x kernel table, then, for every check that did
// not pass, what was expected, what was measured and why it was expected.
// verbose prints that for every check.
func WriteTable(w io.Writer, results []*Result, verbose bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"CHECK"}
	for _, r := range results {
		header = append(header, r.Kernel)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, name := range checkNames(results) {
		row := []string{name}
		for _, r := range results {
			row = append(row, cell(r, name))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	suite, boot := []string{"(suite time)"}, []string{"(boot to verdict)"}
	anyBoot := false
	for _, r := range results {
		suite = append(suite, fmt.Sprintf("%.1fs", r.Secs))
		b := "-"
		if r.Boot > 0 {
			b, anyBoot = fmt.Sprintf("%.1fs (%s)", r.Boot, r.Accel), true
		}
		boot = append(boot, b)
	}
	fmt.Fprintln(tw, strings.Join(suite, "\t"))
	if anyBoot {
		fmt.Fprintln(tw, strings.Join(boot, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		if r.Err != "" {
			fmt.Fprintf(w, "%s: not checked: %s\n", r.Kernel, r.Err)
		}
		for _, o := range r.Checks {
			if !verbose && (o.Verdict == Pass || o.Verdict == Measured) {
				continue
			}
			fmt.Fprintf(w, "%s %s: %s: %s\n", r.Kernel, o.Name, strings.ToUpper(string(o.Verdict)), o.Measured)
			if o.Expect != "" {
				fmt.Fprintf(w, "    expected %s (%s)\n", o.Expect, o.Because)
			}
			if o.Sample != "" && o.Verdict != Pass {
				fmt.Fprintf(w, "    the first such run ended with:\n")
				for _, l := range strings.Split(o.Sample, "\n") {
					fmt.Fprintf(w, "    | %s\n", l)
				}
			}
		}
	}
	fmt.Fprintln(w, summary(results))
	return nil
}

// checkNames lists every check of any kernel, in suite order.
func checkNames(results []*Result) []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range results {
		for _, o := range r.Checks {
			if !seen[o.Name] {
				seen[o.Name] = true
				names = append(names, o.Name)
			}
		}
	}
	return names
}

func cell(r *Result, name string) string {
	for _, o := range r.Checks {
		if o.Name != name {
			continue
		}
		if o.Value == nil {
			return string(o.Verdict)
		}
		v := string(o.Verdict)
		if o.Verdict == Regression {
			v = "REGRESSION"
		}
		return fmt.Sprintf("%s (%d)", v, *o.Value)
	}
	if r.Err != "" {
		return "not checked"
	}
	return "-"
}

func summary(results []*Result) string {
	switch Status(results) {
	case StatusOK:
		return "PASS: every expectation held"
	case StatusRegression:
		return "REGRESSION: " + strings.Join(Regressions(results), "; ")
	}
	return "ERROR: some checks could not be measured (see above)"
}
