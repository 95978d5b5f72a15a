package check

import (
	"encoding/json"
	"io"
)

// Document is what --json prints: every kernel's result and the exit
// status they sum to.
type Document struct {
	Kernels     []*Result `json:"kernels"`
	Status      int       `json:"status"`
	Regressions []string  `json:"regressions,omitempty"`
}

// WriteJSON prints results as one Document.
func WriteJSON(w io.Writer, results []*Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Document{Kernels: results, Status: Status(results), Regressions: Regressions(results)})
}
