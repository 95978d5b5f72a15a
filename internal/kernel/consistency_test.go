package kernel

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/nltrace/nltrace/nlclient"
)

func TestDescribeWalk(t *testing.T) {
	withXarray := &btf.Struct{Name: "net", Members: []btf.Member{{Name: "dev_base_seq"}, {Name: "dev_by_index"}}}
	without := &btf.Struct{Name: "net", Members: []btf.Member{{Name: "dev_base_seq"}}}
	noBTF := errors.New("no /sys/kernel/btf/vmlinux")
	for _, tc := range []struct {
		release string
		net     *btf.Struct
		err     error
		walk    Walk
		source  string
	}{
		{"6.18.44-fc-v669", withXarray, nil, WalkIndex, "BTF"},
		{"6.9.0", withXarray, nil, WalkIndex, "BTF"},
		{"6.6.87", withXarray, nil, WalkHash, "before 6.9"},
		// A 6.12 kernel with the xarray reverted, or a mislabelled one:
		// BTF wins over the version.
		{"6.12.0", without, nil, WalkHash, "no dev_by_index"},
		{"6.1.0-27-cloud-amd64", without, nil, WalkHash, "BTF"},
		{"6.1.0", nil, noBTF, WalkHash, "no BTF"},
		{"7.0", nil, noBTF, WalkIndex, "no BTF"},
		{"weird", nil, noBTF, WalkUnknown, "unknown"},
		{"weird", without, nil, WalkHash, "BTF"},
	} {
		k := describe(tc.release, tc.net, tc.err)
		if k.Walk != tc.walk || !strings.Contains(k.WalkSource, tc.source) {
			t.Errorf("%s (xarray %v, BTF error %v): walk %v from %q; want %v from a source naming %q",
				tc.release, tc.net == withXarray, tc.err, k.Walk, k.WalkSource, tc.walk, tc.source)
		}
	}
}

func TestExpectedNamesItsSource(t *testing.T) {
	k := describe("6.12.0", &btf.Struct{Name: "net"}, nil)
	if got := k.Expected(nlclient.Link); !strings.Contains(got, "hash buckets") || !strings.Contains(got, "BTF") {
		t.Errorf("link prediction %q: want hash buckets, decided by BTF", got)
	}
	if got := k.Expected(nlclient.Route4); got != "" {
		t.Errorf("route4 prediction %q: want none", got)
	}
}

func TestRunningReadsThisKernel(t *testing.T) {
	k := Running()
	if k.Release == "" || k.WalkSource == "" {
		t.Fatalf("running kernel %+v: want a release and a source", k)
	}
	t.Logf("%s: walk %v (%s)", k.Release, k.Walk, k.WalkSource)
}
