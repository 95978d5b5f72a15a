package check

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit XML as GitHub Actions reporters, GitLab and Jenkins read it: one
// testsuite per kernel, one testcase per check.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the results as JUnit XML.
func WriteJUnit(w io.Writer, results []*Result) error {
	doc := junitSuites{Name: "nltrace check"}
	for _, r := range results {
		s := junitSuite{Name: "kernel " + r.Kernel, Time: r.Boot}
		if s.Time == 0 {
			s.Time = r.Secs
		}
		class := "nltrace.check." + strings.NewReplacer(".", "_", "+", "_").Replace(r.Kernel)
		if r.Err != "" {
			s.Cases = append(s.Cases, junitCase{Name: "kernel", Classname: class, Error: &junitProblem{Message: "not checked", Text: r.Err}})
			s.Errors++
		}
		for _, o := range r.Checks {
			c := junitCase{Name: o.Name, Classname: class, Time: o.Secs, SystemOut: describe(o)}
			p := &junitProblem{Message: o.Measured, Text: describe(o)}
			switch o.Verdict {
			case Regression:
				c.Failure = p
				p.Message = "expected " + o.Expect + "; measured " + o.Measured
				s.Failures++
			case Error:
				c.Error = p
				s.Errors++
			case Skipped:
				c.Skipped = p
				s.Skipped++
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func describe(o Outcome) string {
	s := fmt.Sprintf("verdict: %s\nmeasured: %s\n", o.Verdict, o.Measured)
	if o.Value != nil {
		s += fmt.Sprintf("value: %d\n", *o.Value)
	}
	if o.Expect != "" {
		s += fmt.Sprintf("expected: %s (%s)\n", o.Expect, o.Because)
	}
	if o.Sample != "" {
		s += "the first such run ended with:\n" + o.Sample + "\n"
	}
	return s
}
