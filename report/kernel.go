package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nltrace/nltrace/nlclient"
)

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

// WalksByIndex reports whether a kernel of this release walks link and
// address dumps by ifindex (6.9+), so that a concurrent change can no longer
// make them skip or repeat an existing device. It goes by the version
// number: a distribution kernel with the change backported says no wrongly.
func WalksByIndex(release string) (yes, known bool) {
	major, minor, ok := ParseRelease(release)
	if !ok {
		return false, false
	}
	return major > 6 || major == 6 && minor >= 9, true
}

// Expected says what the kernel's version predicts for the consistency of
// dumps of kind k under churn.
func Expected(release string, k nlclient.Kind) string {
	switch k {
	case nlclient.Link, nlclient.Stats, nlclient.Addr4, nlclient.Addr6:
	default:
		return ""
	}
	yes, known := WalksByIndex(release)
	switch {
	case !known:
		return ""
	case yes:
		return fmt.Sprintf("kernel %s (6.9+) walks devices by ifindex: no stable object should be missed", release)
	}
	return fmt.Sprintf("kernel %s (before 6.9) walks hash buckets: an interrupted dump may miss or repeat devices", release)
}
