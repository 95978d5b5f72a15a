package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nltrace/nltrace/internal/testenv"
)

// These tests run inside the guest (./scripts/vmtest given to -pkg). They
// check what /init promises the other packages' tests, and give the
// harness's self-test a failure to detect.

func inGuest(t *testing.T) {
	t.Helper()
	if os.Getenv(guestEnv) == "" {
		t.Skip("runs only inside a vmtest guest")
	}
}

// TestFailOnPurpose fails only when the harness asked for it, so the
// self-test can prove a failing guest fails the run.
func TestFailOnPurpose(t *testing.T) {
	if os.Getenv("NLTRACE_VMTEST_FAIL_ON_PURPOSE") == "1" {
		t.Fatal("failing on purpose (NLTRACE_VMTEST_FAIL_ON_PURPOSE=1)")
	}
}

func TestGuestEnvironment(t *testing.T) {
	inGuest(t)
	testenv.Root(t)
	if !strings.Contains(os.Getenv(testenv.RequireEnv), "root") {
		t.Errorf("%s=%q does not require root", testenv.RequireEnv, os.Getenv(testenv.RequireEnv))
	}
	for dir, magic := range map[string]int64{"/sys/fs/bpf": unix.BPF_FS_MAGIC, "/sys/kernel/tracing": unix.TRACEFS_MAGIC} {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil || st.Type != magic {
			t.Errorf("%s is not mounted (statfs type %#x, err %v)", dir, st.Type, err)
		}
	}
	if _, err := os.Stat("testdata"); err == nil {
		t.Log("testdata/ resolves from the working directory")
	}
	if lo, err := net.InterfaceByName("lo"); err != nil || lo.Flags&net.FlagUp == 0 {
		t.Errorf("lo is not up: %v", err)
	}
}

func TestGuestLinks(t *testing.T) {
	inGuest(t)
	testenv.Root(t)
	testenv.Need(t, "dummy", addLink("vmt-dummy0", "dummy", ""))
	testenv.Need(t, "veth", addLink("vmt-veth0", "veth", "vmt-veth1"))
	for _, name := range []string{"vmt-dummy0", "vmt-veth0", "vmt-veth1"} {
		if _, err := net.InterfaceByName(name); err != nil {
			t.Errorf("link %s: %v", name, err)
		}
	}
	for _, name := range []string{"vmt-dummy0", "vmt-veth0"} {
		if err := rtnl(unix.RTM_DELLINK, 0, ifinfo(nlattr(unix.IFLA_IFNAME, cstr(name)))); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
	}
}

// addLink creates a link with RTM_NEWLINK; for veth, peer names the other
// end (IFLA_INFO_DATA > VETH_INFO_PEER carries a whole ifinfomsg).
func addLink(name, kind, peer string) error {
	info := nlattr(unix.IFLA_INFO_KIND, []byte(kind))
	if peer != "" {
		const vethInfoPeer = 1
		peerMsg := ifinfo(nlattr(unix.IFLA_IFNAME, cstr(peer)))
		info = append(info, nlattr(unix.IFLA_INFO_DATA|unix.NLA_F_NESTED, nlattr(vethInfoPeer|unix.NLA_F_NESTED, peerMsg))...)
	}
	body := ifinfo(append(nlattr(unix.IFLA_IFNAME, cstr(name)), nlattr(unix.IFLA_LINKINFO|unix.NLA_F_NESTED, info)...))
	if err := rtnl(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body); err != nil {
		return fmt.Errorf("create %s link %s: %w", kind, name, err)
	}
	return nil
}

func cstr(s string) []byte { return append([]byte(s), 0) }

func ifinfo(attrs []byte) []byte {
	return append(make([]byte, unix.SizeofIfInfomsg), attrs...) // AF_UNSPEC, index 0
}

func nlattr(typ int, data []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(unix.SizeofRtAttr+len(data)))
	b = binary.NativeEndian.AppendUint16(b, uint16(typ))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// rtnl sends one request and waits for its acknowledgement.
func rtnl(typ uint16, flags uint16, body []byte) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	msg := binary.NativeEndian.AppendUint32(nil, uint32(unix.SizeofNlMsghdr+len(body)))
	msg = binary.NativeEndian.AppendUint16(msg, typ)
	msg = binary.NativeEndian.AppendUint16(msg, flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	msg = binary.NativeEndian.AppendUint32(msg, 1) // seq
	msg = binary.NativeEndian.AppendUint32(msg, 0) // pid: the kernel assigns it
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	if n < unix.SizeofNlMsghdr+4 || binary.NativeEndian.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return fmt.Errorf("unexpected netlink reply (%d bytes)", n)
	}
	if code := int32(binary.NativeEndian.Uint32(buf[unix.SizeofNlMsghdr:])); code != 0 {
		return unix.Errno(-code)
	}
	return nil
}
