module github.com/nltrace/nltrace/testdata/clients/vnl-v1.3.1

go 1.22

require github.com/vishvananda/netlink v1.3.1

require (
	github.com/vishvananda/netns v0.0.5 // indirect
	golang.org/x/sys v0.10.0 // indirect
)
