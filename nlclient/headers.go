package nlclient

import "unsafe"

// Netlink's fixed headers are C structures in the host's byte order, which
// x/sys/unix mirrors as Go structs: copying bytes in and out of those
// structs reads and writes every field where the kernel puts it.

// load returns the structure at the start of b. Callers check that b holds
// one; a copy, because b need not be aligned for T.
func load[T any](b []byte) T {
	var h T
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&h)), unsafe.Sizeof(h)), b)
	return h
}

// bytesOf returns a copy of h's bytes, as the kernel reads them.
func bytesOf[T any](h *T) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(h)), unsafe.Sizeof(*h))...)
}

// ifStatsMsg is struct if_stats_msg (linux/if_link.h), which x/sys lacks.
type ifStatsMsg struct {
	Family     uint8
	_          uint8
	_          uint16
	Ifindex    uint32
	FilterMask uint32
}

const sizeofIfStatsMsg = 12
