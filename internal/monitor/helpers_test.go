package monitor

import (
	"net/netip"
	"unsafe"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
