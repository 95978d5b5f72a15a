package probe

import (
	"errors"
	"os"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ErrUnavailable is wrapped by every error that means "kernel attribution
// is not possible here"; callers that only wanted it as a bonus go on
// without it.
var ErrUnavailable = errors.New("kernel tracing unavailable")

func permissionHint(err error) string {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, os.ErrPermission):
		if os.Geteuid() != 0 {
			return " (needs root, or CAP_BPF and CAP_PERFMON: run with sudo)"
		}
		return " (refused although running as root, so not a memlock limit: a security policy, lockdown or seccomp forbids this program type here)"
	case errors.Is(err, unix.ENOENT), errors.Is(err, os.ErrNotExist):
		return " (kernel function or tracing support missing: check CONFIG_KPROBES / CONFIG_FUNCTION_TRACER)"
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, unix.EINVAL):
		return " (this kernel does not support the attach type: try the other backend)"
	}
	return ""
}
