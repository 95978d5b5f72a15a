package report

import (
	"bytes"
	"encoding"
	"encoding/json"
	"flag"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nltrace/nltrace/internal/correlate"
	"github.com/nltrace/nltrace/internal/repro"
	"github.com/nltrace/nltrace/nlclient"
)

// schemaFile is the published JSON Schema of --json and --json-lines.
const schemaFile = "../../docs/report.schema.json"

var update = flag.Bool("update", false, "rewrite "+schemaFile+" from the Go types")

// TestSchemaIsPublished keeps docs/report.schema.json in step with the Go
// types and their doc comments: a field added, renamed or documented
// differently without `go test ./internal/report -update` fails here.
func TestSchemaIsPublished(t *testing.T) {
	docs, err := fieldDocs("../report", "../correlate", "../../probe", "../../nlclient")
	if os.IsNotExist(err) {
		// Test binaries run without the source in the kernel matrix; the
		// host run checks the file.
		t.Skip("no Go source here")
	}
	if err != nil {
		t.Fatal(err)
	}
	g := &schemaGen{docs: docs, defs: map[string]any{}}
	root := g.ref(reflect.TypeFor[Record]())
	schema := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"title":       "nltrace dump output",
		"description": "One line of `nltrace dump --json-lines` (a Record), or, as $defs/Report, the document `nltrace dump --json` prints.",
		"$ref":        root["$ref"],
		"$defs":       g.defs,
	}
	want, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(schemaFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v (write it with go test ./internal/report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the Go types: run go test ./internal/report -update and commit it", schemaFile)
	}
}

// TestReportMatchesSchema checks a filled report against the schema's
// property names, so that a field the generator misses cannot hide.
func TestReportMatchesSchema(t *testing.T) {
	raw, err := os.ReadFile(schemaFile)
	if os.IsNotExist(err) {
		t.Skip("no docs here")
	}
	var schema struct {
		Defs map[string]struct {
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	c := NewCollector(Setup{Kernel: "6.18", Kinds: []nlclient.Kind{nlclient.Link}, Policy: nlclient.Retry, Retries: 3}, []nlclient.Kind{nlclient.Link})
	c.Add(repro.Dump{Kind: nlclient.Link, Result: result(4, 2, 1), Consistency: &nlclient.Consistency{}})
	rep := c.Report(nil, nil)
	rep.Trace = &correlate.Attribution{Backend: "fentry"}
	var doc map[string]any
	b, _ := json.Marshal(rep)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	def := schema.Defs["Report"]
	for k := range doc {
		if _, ok := def.Properties[k]; !ok {
			t.Errorf("report field %q is not in the schema", k)
		}
	}
	for _, k := range def.Required {
		if _, ok := doc[k]; !ok {
			t.Errorf("schema requires %q, the report has none", k)
		}
	}
}

// fieldDocs reads the doc comments of every struct type and field in the
// packages' source: "Type" and "Type.Field".
func fieldDocs(dirs ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, err
		}
		var parsed []*ast.File
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
			if err != nil {
				return nil, err
			}
			parsed = append(parsed, af)
		}
		pkg, err := doc.NewFromFiles(fset, parsed, "x", doc.AllDecls|doc.PreserveAST)
		if err != nil {
			return nil, err
		}
		for _, typ := range pkg.Types {
			key := pkg.Name + "." + typ.Name
			out[key] = clean(typ.Doc)
			for _, spec := range typ.Decl.Specs {
				st, ok := spec.(*ast.TypeSpec).Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, f := range st.Fields.List {
					text := f.Doc.Text()
					if text == "" {
						text = f.Comment.Text()
					}
					for _, n := range f.Names {
						out[key+"."+n.Name] = clean(text)
					}
				}
			}
		}
	}
	return out, nil
}

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// schemaGen turns Go types into JSON Schema definitions the way
// encoding/json marshals them.
type schemaGen struct {
	docs map[string]string
	defs map[string]any
}

var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

func (g *schemaGen) ref(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // a placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	}
	panic("no schema for " + t.String())
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []string{}
	g.fields(t, props, &required)
	obj := map[string]any{"type": "object", "properties": props, "required": required}
	if d := g.docs[pkgName(t)+"."+t.Name()]; d != "" {
		obj["description"] = d
	}
	return obj
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && tag == "" {
			g.fields(f.Type, props, required)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		p := g.ref(f.Type)
		if d := g.docs[pkgName(t)+"."+t.Name()+"."+f.Name]; d != "" {
			p["description"] = d
		}
		props[name] = p
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}

func pkgName(t reflect.Type) string {
	p := t.PkgPath()
	return p[strings.LastIndex(p, "/")+1:]
}
