package main

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/nltrace/nltrace/internal/check"
	"github.com/nltrace/nltrace/internal/vm"
)

// exampleCI are the CI examples whose nltrace check commands must parse.
var exampleCI = []string{"../../examples/ci/github-actions.yml", "../../examples/ci/gitlab-ci.yml"}

// TestExamplesParse reads the CI examples as YAML, takes every
// nltrace check command out of their strings (run steps, script lists,
// block scalars, lines continued with \) and parses its arguments with the
// check command's flags. The files the commands name (kernel packages,
// baselines) do not exist here, so instead of parseCheck it checks what
// can be checked without them: every flag exists, every --kernel that is
// not a path is a spec, --only names checks, the client flags have --exec
// and the guest flags --kernel.
func TestExamplesParse(t *testing.T) {
	for _, file := range exampleCI {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var cmds [][]string
		for _, s := range yamlStrings(doc) {
			cmds = append(cmds, checkCommands(s)...)
		}
		if len(cmds) == 0 {
			t.Errorf("%s: no nltrace check command found", file)
		}
		for _, args := range cmds {
			if err := parseExample(args); err != nil {
				t.Errorf("%s: nltrace check %s: %v", file, strings.Join(args, " "), err)
			}
			if i := slices.Index(args, "--junit"); i >= 0 && i+1 < len(args) && strings.Count(string(data), args[i+1]) < 2 {
				t.Errorf("%s: the JUnit report %s is written but never published", file, args[i+1])
			}
		}
	}
}

// parseExample parses args as nltrace check would, minus what needs the
// files they name.
func parseExample(args []string) error {
	return parseWith(checkCommand(), args, func(c *cli.Context) error {
		cfg := check.Config{Only: c.StringSlice("only"), Churn: c.Duration("churn-duration")}
		if c.Bool("exec") {
			cfg.Client = &check.Client{Command: c.Args().Slice(), Duration: c.Duration("exec-duration"), Timeout: c.Duration("exec-timeout"),
				Exit: c.IntSlice("allow-exit"), Allow: c.StringSlice("allow")}
		} else if c.Args().Present() {
			return fmt.Errorf("unexpected arguments %q", c.Args().Slice())
		}
		kernels := c.StringSlice("kernel")
		for _, name := range clientFlags {
			if c.IsSet(name) && cfg.Client == nil {
				return fmt.Errorf("--%s without --exec", name)
			}
		}
		for _, name := range vmFlags {
			if c.IsSet(name) && len(kernels) == 0 {
				return fmt.Errorf("--%s without --kernel", name)
			}
		}
		var series []string
		for _, k := range kernels {
			if strings.ContainsRune(k, '/') || strings.HasSuffix(k, ".deb") {
				continue // a file: only there in CI
			}
			series = append(series, k)
		}
		if _, err := vm.ParseSpecs(series); err != nil {
			return fmt.Errorf("--kernel: %w", err)
		}
		if c.String("record-baseline") != "" && len(kernels) > 1 {
			return fmt.Errorf("--record-baseline with %d kernels", len(kernels))
		}
		return checkFlagError(cfg.Validate())
	})
}

// yamlStrings lists every string value in a decoded YAML document.
func yamlStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, yamlStrings(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range v {
			out = append(out, yamlStrings(e)...)
		}
		return out
	}
	return nil
}

// checkCommands finds the nltrace check commands of a shell script and
// returns the arguments of each, after "check".
func checkCommands(script string) [][]string {
	var out [][]string
	for _, line := range strings.Split(strings.ReplaceAll(script, "\\\n", " "), "\n") {
		words := shellWords(line)
		for i := 0; i+1 < len(words); i++ {
			if words[i].op || path.Base(words[i].text) != "nltrace" || words[i+1].text != "check" {
				continue
			}
			var args []string
			for _, w := range words[i+2:] {
				if w.op {
					break
				}
				args = append(args, w.text)
			}
			out = append(out, args)
		}
	}
	return out
}

type shellWord struct {
	text string
	op   bool // an unquoted control or redirection operator: ; & | < >
}

// shellWords splits one line of shell as sh does for the simple commands
// of CI scripts: quotes, backslashes, operators and comments; variables
// are left as they are written.
func shellWords(line string) []shellWord {
	var words []shellWord
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, shellWord{text: cur.String()})
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == ' ' || ch == '\t':
			flush()
		case ch == '#' && !inWord:
			flush()
			return words
		case ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte(`"\$`+"`", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			inWord = true
		case strings.IndexByte(";&|<>", ch) >= 0:
			if inWord && strings.Trim(cur.String(), "0123456789") == "" {
				cur.Reset() // the fd of a redirection: 2>&1
				inWord = false
			}
			flush()
			op := string(ch)
			for i+1 < len(line) && strings.IndexByte(";&|<>", line[i+1]) >= 0 {
				i++
				op += string(line[i])
			}
			words = append(words, shellWord{text: op, op: true})
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	flush()
	return words
}

func TestExamplesShellWords(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   [][]string
	}{
		{"sudo nltrace check --only client/ \\\n  --exec -- ./client -expect 201", [][]string{{"--only", "client/", "--exec", "--", "./client", "-expect", "201"}}},
		{`sudo -E ./bin/nltrace check --allow "results may be incomplete" 2>&1 | tee log # comment`, [][]string{{"--allow", "results may be incomplete"}}},
		{"nltrace check --json > out.json; nltrace check --only 'link/'", [][]string{{"--json"}, {"--only", "link/"}}},
		{"echo nltrace; nltrace dump --churn", nil},
	} {
		if got := checkCommands(tc.script); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: got %q, want %q", tc.script, got, tc.want)
		}
	}
	if err := parseExample([]string{"--kernl", "6.12"}); err == nil {
		t.Error("a misspelt flag parsed")
	}
	if err := parseExample([]string{"--kernel", "6.12", "--only", "client/"}); err == nil {
		t.Error("--only client/ without --exec parsed")
	}
	if err := parseExample([]string{"--kernel", "kernels/6.1.deb", "--kernel", "6.12", "--only", "client/", "--vm-logs", "logs", "--exec", "--", "./client"}); err != nil {
		t.Errorf("a good command: %v", err)
	}
}
