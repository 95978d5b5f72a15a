package netns

// What the root tests of package netns_test, which may import netnstest
// (and through it this package), need to see of the mount table.

// Binds returns the ids of the mounts on Dir/name, hidden ones included,
// and the id of the mount that a lookup of Dir reaches.
func Binds(name string) (ids []int, top int, err error) {
	d, err := readDirMounts()
	if err != nil || d == nil {
		return nil, 0, err
	}
	for _, m := range d.binds(name) {
		ids = append(ids, m.id)
	}
	return ids, d.top, nil
}

// TopPoint is where the mount that a lookup of Dir reaches is mounted.
func TopPoint() (string, error) {
	d, err := readDirMounts()
	if err != nil || d == nil {
		return "", err
	}
	return d.byID[d.top].point, nil
}

var Busy = busy
