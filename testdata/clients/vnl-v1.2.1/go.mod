module github.com/nltrace/nltrace/testdata/clients/vnl-v1.2.1

go 1.22

require github.com/vishvananda/netlink v1.2.1

require (
	github.com/vishvananda/netns v0.0.4 // indirect
	golang.org/x/sys v0.10.0 // indirect
)
