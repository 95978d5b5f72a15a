package report

import "testing"

func TestWalksByIndex(t *testing.T) {
	for _, tc := range []struct {
		release    string
		yes, known bool
	}{
		{"6.18.44-fc-v669", true, true},
		{"6.9.0", true, true},
		{"6.8.12-generic", false, true},
		{"6.1.0-27-cloud-amd64", false, true},
		{"5.15.0", false, true},
		{"7.0", true, true},
		{"weird", false, false},
	} {
		yes, known := WalksByIndex(tc.release)
		if yes != tc.yes || known != tc.known {
			t.Errorf("%s: %v, %v; want %v, %v", tc.release, yes, known, tc.yes, tc.known)
		}
	}
}
