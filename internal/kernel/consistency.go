package kernel

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/nlclient"
)

// Walk is how link and address dumps go through a namespace's devices.
type Walk int

const (
	WalkUnknown Walk = iota
	// WalkHash follows hash buckets with a (bucket, index) cursor: a
	// concurrent add or delete can make a dump skip or repeat devices.
	WalkHash
	// WalkIndex follows ifindex order (6.9+): existing devices are never
	// skipped, and the flag is conservative.
	WalkIndex
)

// Kernel is what nltrace knows of the running kernel.
type Kernel struct {
	Release string
	Walk    Walk
	// WalkSource says what decided Walk: the kernel's BTF, its version, or
	// both.
	WalkSource string
}

// Running describes this machine's kernel.
func Running() Kernel {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	release := unix.ByteSliceToString(uts.Release[:])
	net, err := structNet()
	return describe(release, net, err)
}

func structNet() (*btf.Struct, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, err
	}
	var net *btf.Struct
	if err := spec.TypeByName("net", &net); err != nil {
		return nil, fmt.Errorf("struct net not in BTF: %w", err)
	}
	return net, nil
}

// describe decides the walk. BTF alone is decisive one way only: a struct
// net without the dev_by_index xarray (added in 6.6) can only walk hash
// buckets. With it, rtnetlink still walked buckets until 6.9, and that
// change left no trace in BTF, so the version decides, and a backport of
// it to an older version is misjudged (the report's measured consistency
// shows the truth).
func describe(release string, net *btf.Struct, btfErr error) Kernel {
	k := Kernel{Release: release}
	major, minor, versionOK := ParseRelease(release)
	byVersion := versionOK && (major > 6 || major == 6 && minor >= 9)
	hasXarray := false
	if btfErr == nil {
		hasXarray = slices.ContainsFunc(net.Members, func(m btf.Member) bool { return m.Name == "dev_by_index" })
	}
	switch {
	case btfErr == nil && !hasXarray:
		k.Walk, k.WalkSource = WalkHash, "BTF: struct net has no dev_by_index xarray"
	case btfErr == nil && versionOK && byVersion:
		k.Walk, k.WalkSource = WalkIndex, fmt.Sprintf("BTF: struct net has the dev_by_index xarray; version %d.%d (6.9+) walks it", major, minor)
	case btfErr == nil && versionOK:
		k.Walk, k.WalkSource = WalkHash, fmt.Sprintf("BTF: struct net has the dev_by_index xarray, but version %d.%d (before 6.9) still walks hash buckets", major, minor)
	case versionOK && byVersion:
		k.Walk, k.WalkSource = WalkIndex, fmt.Sprintf("version %d.%d (6.9+); no BTF: %v", major, minor, btfErr)
	case versionOK:
		k.Walk, k.WalkSource = WalkHash, fmt.Sprintf("version %d.%d (before 6.9); no BTF: %v", major, minor, btfErr)
	default:
		k.WalkSource = "unknown: release " + strconv.Quote(release) + " unreadable and no BTF"
	}
	return k
}

// ParseRelease reads the major and minor version of a kernel release
// ("6.18.44-fc-v669").
func ParseRelease(release string) (major, minor int, ok bool) {
	fields := strings.FieldsFunc(release, func(r rune) bool { return r < '0' || r > '9' })
	if len(fields) < 2 {
		return 0, 0, false
	}
	var err1, err2 error
	major, err1 = strconv.Atoi(fields[0])
	minor, err2 = strconv.Atoi(fields[1])
	return major, minor, err1 == nil && err2 == nil
}

// Expected says what this kernel predicts for the consistency of dumps of
// kind k under churn, and which source decided; "" when it predicts
// nothing.
func (kr Kernel) Expected(k nlclient.Kind) string {
	switch {
	case k == nlclient.Addr4 || k == nlclient.Addr6:
		// Measured on 6.1, 6.12 and 6.18: IPv6 inserts a new address at
		// the front of its device's list, so every later position shifts
		// under the cursor.
		return "every kernel walks the addresses of one device by position: " +
			"an add or delete on the same device can make a dump miss or repeat addresses"
	case k != nlclient.Link && k != nlclient.Stats:
		return ""
	case kr.Walk == WalkIndex:
		return fmt.Sprintf("kernel %s walks devices by ifindex: no stable device should be missed (%s)", kr.Release, kr.WalkSource)
	case kr.Walk == WalkHash:
		return fmt.Sprintf("kernel %s walks hash buckets: an interrupted dump may miss or repeat devices (%s)", kr.Release, kr.WalkSource)
	}
	return ""
}

var walkNames = [...]string{WalkUnknown: "unknown", WalkHash: "hash", WalkIndex: "ifindex"}

func (w Walk) String() string {
	if int(w) < len(walkNames) {
		return walkNames[w]
	}
	return fmt.Sprintf("walk(%d)", int(w))
}

// MarshalText makes walks readable in JSON.
func (w Walk) MarshalText() ([]byte, error) { return []byte(w.String()), nil }
