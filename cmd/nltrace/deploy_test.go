package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/nltrace/nltrace/probe"
)

const deployDir = "../../deploy/kubernetes/"

// decodeStrict decodes a YAML document as the API server does with
// fieldValidation=Strict: field names match case-sensitively, and an
// unknown or repeated field is an error (sigs.k8s.io/yaml's own
// UnmarshalStrict matches names regardless of case, so hostPid would
// pass for hostPID).
func decodeStrict(doc string, v any) error {
	j, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// readDaemonSet decodes the manifest strictly into the Kubernetes types,
// so that a misspelled or misplaced field is an error. It returns the
// DaemonSet and the namespaces the file creates.
func readDaemonSet(t *testing.T) (*appsv1.DaemonSet, []string) {
	t.Helper()
	b, err := os.ReadFile(deployDir + "daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds *appsv1.DaemonSet
	var namespaces []string
	for i, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(b), -1) {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		switch head.APIVersion + " " + head.Kind {
		case " ":
			continue // comments only
		case "v1 Namespace":
			var ns corev1.Namespace
			if err := decodeStrict(doc, &ns); err != nil {
				t.Fatalf("document %d, Namespace: %v", i+1, err)
			}
			namespaces = append(namespaces, ns.Name)
		case "apps/v1 DaemonSet":
			if ds != nil {
				t.Fatalf("document %d: a second DaemonSet", i+1)
			}
			ds = new(appsv1.DaemonSet)
			if err := decodeStrict(doc, ds); err != nil {
				t.Fatalf("document %d, DaemonSet: %v", i+1, err)
			}
		default:
			t.Fatalf("document %d: unexpected %s %s", i+1, head.APIVersion, head.Kind)
		}
	}
	if ds == nil {
		t.Fatal("no apps/v1 DaemonSet in daemonset.yaml")
	}
	return ds, namespaces
}

func TestDeployDaemonSet(t *testing.T) {
	ds, namespaces := readDaemonSet(t)
	if ds.Namespace != "" && !slices.Contains(namespaces, ds.Namespace) {
		t.Errorf("the DaemonSet's namespace %q is not the one the file creates (%q)", ds.Namespace, namespaces)
	}
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not select the pod template (labels %v)", k, v, ds.Spec.Template.Labels)
		}
	}
	pod := ds.Spec.Template.Spec
	if !pod.HostPID || !pod.HostNetwork {
		t.Errorf("hostPID %v, hostNetwork %v: want both (host PIDs from the kernel, /proc of every process, metrics on the node's address)", pod.HostPID, pod.HostNetwork)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if sc := c.SecurityContext; sc == nil || sc.Privileged != nil && *sc.Privileged || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("the container must not be privileged, and must drop ALL capabilities before adding its own")
	}

	ann := ds.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations %v: want prometheus.io/scrape \"true\" and prometheus.io/path /metrics", ann)
	}
	annotated, err := strconv.Atoi(ann["prometheus.io/port"])
	if err != nil {
		t.Fatalf("prometheus.io/port: %v", err)
	}
	var port *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].Name == "metrics" {
			port = &c.Ports[i]
		}
	}
	if port == nil {
		t.Fatal("no container port named metrics")
	}
	if int(port.ContainerPort) != annotated {
		t.Errorf("prometheus.io/port %d, containerPort %d: want the same", annotated, port.ContainerPort)
	}
	for name, p := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: want an httpGet on /metrics", name)
			continue
		}
		if p.HTTPGet.Path != "/metrics" || p.HTTPGet.Port != intstr.FromString("metrics") && p.HTTPGet.Port != intstr.FromInt32(port.ContainerPort) {
			t.Errorf("%s: httpGet %s on port %s, want /metrics on the metrics port", name, p.HTTPGet.Path, p.HTTPGet.Port.String())
		}
	}

	args := append(slices.Clone(c.Command), c.Args...)
	if len(c.Command) > 0 {
		if c.Command[0] != "/nltrace" {
			t.Fatalf("command %q: want the image's /nltrace", c.Command)
		}
		args = args[1:]
	}
	cfg := checkWatchArgs(t, args)
	if cfg == nil {
		return
	}
	_, p, err := net.SplitHostPort(cfg.String("metrics"))
	if err != nil || p != strconv.Itoa(annotated) {
		t.Errorf("--metrics %q: want port %d, the annotated containerPort (%v)", cfg.String("metrics"), annotated, err)
	}
}

// checkWatchArgs checks that args are a watch command line that nltrace
// accepts: every flag one of watchFlags, every value one its parser
// takes. It returns the parsed command line, nil after an error.
func checkWatchArgs(t *testing.T, args []string) *cli.Context {
	t.Helper()
	if len(args) == 0 || args[0] != "watch" {
		t.Errorf("arguments %q: want watch first", args)
		return nil
	}
	var names []string
	for _, f := range watchFlags() {
		names = append(names, f.Names()...)
	}
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !slices.Contains(names, name) {
			t.Errorf("%s is not a flag of nltrace watch (%s)", a, strings.Join(names, ", "))
		}
	}
	var parsed *cli.Context
	app := &cli.App{
		Name:      "nltrace",
		Writer:    io.Discard,
		ErrWriter: io.Discard,
		Commands: []*cli.Command{{
			Name:  "watch",
			Flags: watchFlags(),
			OnUsageError: func(_ *cli.Context, err error, _ bool) error {
				return err
			},
			Action: func(c *cli.Context) error {
				if _, err := probe.ParseBackend(c.String("backend")); err != nil {
					return err
				}
				// Everything else the command checks before it needs root.
				if _, _, err := parseWatch(c); err != nil {
					return err
				}
				parsed = c
				return nil
			},
		}},
	}
	if err := app.Run(append([]string{"nltrace"}, args...)); err != nil {
		t.Errorf("nltrace %s: %v", strings.Join(args, " "), err)
		return nil
	}
	return parsed
}

// TestDeployDockerfile checks that the image's binary is static, as
// scratch needs, and that its builder follows go.mod's Go release.
func TestDeployDockerfile(t *testing.T) {
	b, err := os.ReadFile(deployDir + "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	build := regexp.MustCompile(`(?m)^RUN .*\bCGO_ENABLED=0 .*\bgo build .*\./cmd/nltrace\s*$`)
	if !build.Match(b) {
		t.Error("Dockerfile: no RUN CGO_ENABLED=0 ... go build ... ./cmd/nltrace: the scratch image needs a static binary")
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if want == nil {
		t.Fatal("go.mod: no go directive")
	}
	from := regexp.MustCompile(`(?m)^FROM .*\bgolang:(\d+\.\d+)`).FindSubmatch(b)
	switch {
	case from == nil:
		t.Errorf("Dockerfile: no FROM golang:%s builder", want[1])
	case !bytes.Equal(from[1], want[1]):
		t.Errorf("Dockerfile builds with golang:%s, go.mod says go %s", from[1], want[1])
	}
}
