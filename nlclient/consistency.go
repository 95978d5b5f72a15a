package nlclient

import "slices"

// Consistency is what a dump got wrong about objects that existed for its
// whole duration.
type Consistency struct {
	Missing  []Key `json:"missing,omitempty"`
	Repeated []Key `json:"repeated,omitempty"`
}

// OK reports whether nothing was missed or repeated.
func (c Consistency) OK() bool { return len(c.Missing) == 0 && len(c.Repeated) == 0 }

// Check compares a dump with the objects known to exist throughout it. Any
// object the dump returned twice is repeated, stable or not: no table holds
// the same object twice.
func Check(r *Result, stable []Key) Consistency {
	seen := make(map[Key]int, len(r.Objects))
	var c Consistency
	for _, o := range r.Objects {
		k := o.Key()
		seen[k]++
		if seen[k] == 2 {
			c.Repeated = append(c.Repeated, k)
		}
	}
	for _, k := range stable {
		if seen[k] == 0 {
			c.Missing = append(c.Missing, k)
		}
	}
	slices.SortFunc(c.Missing, compareKeys)
	slices.SortFunc(c.Repeated, compareKeys)
	return c
}

func compareKeys(a, b Key) int {
	switch {
	case a.Kind != b.Kind:
		return int(a.Kind) - int(b.Kind)
	case a.Index != b.Index:
		return int(a.Index) - int(b.Index)
	case a.ID != b.ID:
		return int(a.ID) - int(b.ID)
	case a.Table != b.Table:
		return int(a.Table) - int(b.Table)
	}
	return a.Prefix.Addr().Compare(b.Prefix.Addr())
}
