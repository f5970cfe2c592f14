package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// maxTextRunes bounds any one string of a JSON body: the longest free text
// the domain takes (notes, reasons, comments) is far shorter, and nothing
// longer is ever stored.
const maxTextRunes = 10000

// boundaryHeaders are the request headers the application reads.
var boundaryHeaders = []string{"Authorization", "Idempotency-Key", "If-Match", "If-None-Match", "Content-Type", "Accept"}

// inputBoundary checks every string of a request once, before any handler
// sees it: path parameters, query names and values, the headers the
// application reads, and each string (and key) of a JSON body must be
// valid UTF-8 without NUL; identifiers (path, query, headers and JSON
// field names) take no control character at all, the strings of a body
// only tab and line breaks. PostgreSQL refuses such bytes with an error that
// would otherwise surface as a 500, or worse, poison a retried activity.
func inputBoundary() gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := checkRequest(c); err != nil {
			fail(c, zap.NewNop(), err) // always a fault: a 4xx
			return
		}
		c.Next()
	}
}

// badInput is the fault of one bad string.
func badInput(field, msg string) error {
	return &fault.Error{Kind: fault.Invalid,
		Msg:      "The request contains " + msg + " in " + field + "; send valid UTF-8 text without control characters.",
		Problems: []fault.Problem{{Field: field, Message: msg}}}
}

func checkRequest(c *gin.Context) error {
	for _, p := range c.Params {
		if msg := badIdentifier(p.Value); msg != "" {
			return badInput(p.Key, msg)
		}
	}
	if c.Request.URL.RawQuery != "" {
		q, err := url.ParseQuery(c.Request.URL.RawQuery)
		if err != nil {
			return badInput("query", "a malformed query string")
		}
		if allowed, ok := documentedQuery()[c.Request.Method+" "+c.FullPath()]; ok {
			for k := range q {
				if !allowed[k] && badIdentifier(k) == "" {
					return &fault.Error{Kind: fault.Invalid,
						Msg:      k + " is not a parameter of " + c.FullPath() + "; see " + openAPIPath + " for the parameters it takes.",
						Problems: []fault.Problem{{Field: k, Message: "is not a parameter here"}}}
				}
			}
		}
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if msg := badIdentifier(k); msg != "" {
				return badInput("query parameter name", msg)
			}
			for _, v := range q[k] {
				if msg := badIdentifier(v); msg != "" {
					return badInput(k, msg)
				}
			}
		}
	}
	for _, h := range boundaryHeaders {
		for _, v := range c.Request.Header.Values(h) {
			if msg := badIdentifier(v); msg != "" {
				return badInput(h, msg)
			}
		}
	}
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		return nil
	}
	ct := c.GetHeader("Content-Type")
	if strings.HasPrefix(ct, "multipart/") {
		return nil // uploads are checked cell by cell by the importer (row and column)
	}
	// Read what decodeJSON would read at most, and give it back.
	raw, err := io.ReadAll(io.LimitReader(c.Request.Body, maxJSONBody+1))
	if err != nil {
		return badInput("(body)", "a body that cannot be read")
	}
	rest := c.Request.Body
	c.Request.Body = readCloser{io.MultiReader(bytes.NewReader(raw), rest), rest}
	if len(raw) == 0 || len(raw) > maxJSONBody {
		return nil // decodeJSON names the empty or oversized body
	}
	if !utf8.Valid(raw) {
		return badInput("(body)", fmt.Sprintf("invalid UTF-8 at byte %d", invalidAt(raw)))
	}
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return badInput("(form)", "a malformed form body")
		}
		for k, vs := range form {
			for _, v := range vs {
				if msg := badText(v); msg != "" {
					return badInput(k, msg)
				}
			}
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if ct == "" || strings.Contains(ct, "json") {
			// Refused here even where the handler would not read the body.
			return jsonFault(err)
		}
		return nil // another format: its handler reads it
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.New(fault.Invalid, "the request body has data after the JSON value")
	}
	if p := walkJSON("", v); p != nil {
		return badInput(p.Field, p.Message)
	}
	return nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// walkJSON checks every string and key of a decoded JSON value; path names
// the field as a person writes it (actions[2], rules.filter.regions[0]).
func walkJSON(path string, v any) *FieldProblem {
	switch x := v.(type) {
	case string:
		// Tabs and line breaks in a code or key are left to the handler's
		// own validation, which names every wrong field of the body at once.
		if msg := badText(x); msg != "" {
			return &FieldProblem{Field: fieldName(path), Message: msg}
		}
	case []any:
		for i, e := range x {
			if p := walkJSON(path+"["+strconv.Itoa(i)+"]", e); p != nil {
				return p
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if msg := badIdentifier(k); msg != "" {
				return &FieldProblem{Field: fieldName(path) + " (a field name)", Message: msg}
			}
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if p := walkJSON(sub, x[k]); p != nil {
				return p
			}
		}
	}
	return nil
}

func fieldName(path string) string {
	if path == "" {
		return "(body)"
	}
	return path
}

// badText says what is wrong with a free-text string, or "".
func badText(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	if utf8.RuneCountInString(s) > maxTextRunes {
		return fmt.Sprintf("text longer than %d characters", maxTextRunes)
	}
	for _, r := range s {
		if r == 0 {
			return "a NUL character (U+0000)"
		}
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return fmt.Sprintf("a control character (U+%04X)", r)
		}
	}
	return ""
}

// badIdentifier is badText without line breaks or tabs.
func badIdentifier(s string) string {
	if msg := badText(s); msg != "" {
		return msg
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("a control character (U+%04X)", r)
		}
	}
	return ""
}

var dateType = reflect.TypeOf(workday.Date{})

// requireDates refuses a decoded body whose date fields (not pointers: those
// are optional) are missing, null or zero, before the value can reach a
// workflow, whose payload encoding cannot carry a zero date.
func requireDates(v any) error {
	return missingDate(reflect.ValueOf(v), "")
}

func missingDate(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return missingDate(v.Elem(), path)
	case reflect.Struct:
		if v.Type() == dateType {
			if !v.Interface().(workday.Date).IsValid() {
				return fault.Field(fieldName(path), "is required: give a date as YYYY-MM-DD")
			}
			return nil
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			sub := name
			if f.Anonymous {
				sub = path
			} else if path != "" {
				sub = path + "." + name
			}
			if err := missingDate(v.Field(i), sub); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := missingDate(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	docQueryOnce sync.Once
	docQuery     map[string]map[string]bool
)

// documentedQuery maps "METHOD /gin/:path" to the query parameters that
// api/openapi.json gives the operation: the one list of what each route
// takes, so that a misspelt filter is refused everywhere alike.
func documentedQuery() map[string]map[string]bool {
	docQueryOnce.Do(func() {
		type param struct {
			Ref  string `json:"$ref"`
			Name string `json:"name"`
			In   string `json:"in"`
		}
		var doc struct {
			Paths      map[string]map[string]json.RawMessage `json:"paths"`
			Components struct {
				Parameters map[string]param `json:"parameters"`
			} `json:"components"`
		}
		docQuery = map[string]map[string]bool{}
		if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
			panic("api/openapi.json: " + err.Error()) // embedded; TestOpenAPICoversEveryRoute guards it
		}
		for path, item := range doc.Paths {
			parts := strings.Split(path, "/")
			for i, s := range parts {
				if strings.HasPrefix(s, "{") {
					parts[i] = ":" + strings.Trim(s, "{}")
				}
			}
			route := strings.Join(parts, "/")
			for method, raw := range item {
				var op struct {
					Parameters []param `json:"parameters"`
				}
				if json.Unmarshal(raw, &op) != nil {
					continue
				}
				names := map[string]bool{}
				for _, p := range op.Parameters {
					if p.Ref != "" {
						p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
					}
					if p.In == "query" {
						names[p.Name] = true
					}
				}
				docQuery[strings.ToUpper(method)+" "+route] = names
			}
		}
	})
	return docQuery
}
