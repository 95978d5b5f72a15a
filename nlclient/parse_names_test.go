package nlclient

import "testing"

func TestParseKinds(t *testing.T) {
	tests := []struct {
		in      []string
		want    string
		wantErr bool
	}{
		{[]string{"link"}, "[link]", false},
		{[]string{"link,addr4", "ADDR6", "link"}, "[link addr4 addr6]", false},
		{[]string{"all"}, "[link addr4 addr6 route4 route6 neigh nexthop stats]", false},
		{[]string{"links"}, "", true},
		{[]string{""}, "", true},
		{nil, "", true},
	}
	for _, tt := range tests {
		got, err := ParseKinds(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && fmtKinds(got) != tt.want) {
			t.Errorf("ParseKinds(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func fmtKinds(k []Kind) string {
	s := "["
	for i, x := range k {
		if i > 0 {
			s += " "
		}
		s += x.String()
	}
	return s + "]"
}

func TestParsePolicy(t *testing.T) {
	for _, s := range []string{"lenient", "strict", "retry", "Retry"} {
		if _, err := ParsePolicy(s); err != nil {
			t.Errorf("ParsePolicy(%q): %v", s, err)
		}
	}
	if _, err := ParsePolicy("ignore"); err == nil {
		t.Error("ParsePolicy accepted an unknown policy")
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantErr bool
	}{
		{"", Target{}, false},
		{"blue", Target{Path: "/run/netns/blue"}, false},
		{"/proc/1/ns/net", Target{Path: "/proc/1/ns/net"}, false},
		{"pid:42", Target{PID: 42}, false},
		{"fd:7", Target{FD: 7}, false},
		{"pid:x", Target{}, true},
		{"pid:-1", Target{}, true},
		{"fd:1", Target{}, true},
		{"a/b", Target{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseTarget(%q) = %+v, %v", tt.in, got, err)
		}
	}
}
