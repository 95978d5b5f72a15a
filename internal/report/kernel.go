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
	yes, known := WalksByIndex(release)
	switch {
	case !known:
		return ""
	case k == nlclient.Addr4 || k == nlclient.Addr6:
		// Measured on 6.18: IPv6 inserts a new address at the front of its
		// device's list, so every later position shifts under the cursor.
		return fmt.Sprintf("kernel %s walks the addresses of one device by position, on every version: "+
			"an add or delete on the same device can make a dump miss or repeat addresses", release)
	case k != nlclient.Link && k != nlclient.Stats:
		return ""
	case yes:
		return fmt.Sprintf("kernel %s (6.9+) walks devices by ifindex: no stable device should be missed", release)
	}
	return fmt.Sprintf("kernel %s (before 6.9) walks hash buckets: an interrupted dump may miss or repeat devices", release)
}
