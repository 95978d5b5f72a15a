package churn

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nltrace/nltrace/internal/netns"
)

// Prefix starts the name of every namespace this package creates.
const Prefix = "nltrace-churn-"

// awaySuffix names the second namespace of a run, where netns moves go.
const awaySuffix = "-away"

var seq atomic.Int64

// runID tells apart the runs that have the same pid in different PID
// namespaces: every container's first process is pid 1.
var runID = sync.OnceValue(func() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
})

// newName returns a fresh namespace name: nltrace-churn-PID-RUNID-N.
func newName() string {
	return fmt.Sprintf("%s%d-%s-%d", Prefix, os.Getpid(), runID(), seq.Add(1))
}

// newNamespace creates the named namespace, held: its lock says a live run
// uses it until the run closes the file or dies (netns.CreateHeld), which
// is how Leftovers tells a leftover from a live run's namespace.
func newNamespace(name string) (*os.File, error) { return netns.CreateHeld(name) }

// Owner returns the pid in a namespace name made by this package: the
// run's pid in the PID namespace it ran in, which says nothing about
// whether it still runs.
func Owner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, false
	}
	pid, _, _ := strings.Cut(rest, "-")
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// legacyName matches the names nltrace gave its namespaces before it held
// them locked: nltrace-churn-PID-N.
var legacyName = regexp.MustCompile(`^` + regexp.QuoteMeta(Prefix) + `[0-9]+-[0-9]+(` + awaySuffix + `)?$`)
