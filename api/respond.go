package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// maxJSONBody bounds request bodies other than file uploads.
const maxJSONBody = 1 << 20

var statusOf = map[fault.Kind]int{
	fault.Invalid:            http.StatusBadRequest,
	fault.Unauthorized:       http.StatusUnauthorized,
	fault.Forbidden:          http.StatusForbidden,
	fault.NotFound:           http.StatusNotFound,
	fault.Conflict:           http.StatusConflict,
	fault.PreconditionFailed: http.StatusPreconditionFailed,
	fault.TooLarge:           http.StatusRequestEntityTooLarge,
	fault.PreconditionNeeded: http.StatusPreconditionRequired,
	fault.NotReady:           http.StatusConflict,
	fault.Unavailable:        http.StatusServiceUnavailable,
}

var slugOf = map[fault.Kind]string{
	fault.Invalid:            "invalid-input",
	fault.Unauthorized:       "unauthorized",
	fault.Forbidden:          "forbidden",
	fault.NotFound:           "not-found",
	fault.Conflict:           "conflict",
	fault.PreconditionFailed: "stale-version",
	fault.TooLarge:           "too-large",
	fault.PreconditionNeeded: "if-match-required",
	fault.NotReady:           "not-ready",
	fault.Unavailable:        "unavailable",
}

// fail answers err: a classified fault becomes its 4xx problem; anything
// else is logged and answered with a 500 that reveals nothing internal.
func fail(c *gin.Context, log *zap.Logger, err error) {
	if e, ok := fault.As(err); ok {
		status := statusOf[e.Kind]
		if status == 0 {
			status = http.StatusBadRequest
		}
		fields := make([]FieldProblem, len(e.Problems))
		for i, p := range e.Problems {
			fields[i] = FieldProblem(p)
		}
		p := Problem{
			Type: problemTypeBase + slugOf[e.Kind], Title: http.StatusText(status), Status: status,
			Detail: e.Msg, Instance: c.Request.URL.Path, RequestID: c.GetString(requestIDKey),
			Errors: fields, Details: e.Details,
		}
		if s := fault.RetryAfter(e.Kind); s > 0 {
			c.Header("Retry-After", strconv.Itoa(s))
		}
		writeProblem(c, p)
		return
	}
	log.Error("request failed", zap.String("request_id", c.GetString(requestIDKey)), zap.Error(err))
	abort(c, http.StatusInternalServerError, "internal", "The server failed on this request; quote the request ID when reporting it.")
}

// decodeJSON reads the body into v strictly: unknown fields, wrong types,
// trailing data and bodies over the limit are the caller's faults, each
// named precisely.
func decodeJSON(c *gin.Context, v any) error {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody)
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonFault(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.New(fault.Invalid, "the request body has data after the JSON value")
	}
	return requireDates(v)
}

func jsonFault(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return fault.New(fault.TooLarge, "the request body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return fault.New(fault.Invalid, "the request body is empty; send a JSON object")
	case errors.As(err, &syn):
		return fault.New(fault.Invalid, "the request body is not valid JSON (at byte %d): %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return fault.Field(field, "must be %s, not a JSON %s", typeName(typ.Type.String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fault.Field(name, "is not a known field")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.New(fault.Invalid, "the request body is cut short: the JSON is incomplete")
	}
	return fault.New(fault.Invalid, "the request body cannot be read as JSON: %v", err)
}

func typeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map[") || strings.HasPrefix(goType, "struct") || strings.Contains(goType, "."):
		return "an object"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	}
	return goType
}

// Page is one page of a list; NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// pageParams reads ?limit= (1..500, default 50) and ?cursor=, an opaque
// token that encodes the sort key of the last item of the previous page.
func pageParams(c *gin.Context) (cursor string, limit int, err error) {
	limit = 50
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return "", 0, fault.Field("limit", "must be a whole number from 1 to 500, got %q", s)
		}
		limit = n
	}
	if s := c.Query("cursor"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		// Cursors carry sort keys: text this server wrote, never control
		// characters or invalid UTF-8 (which PostgreSQL would refuse).
		if err != nil || len(b) > 1000 || badIdentifier(string(b)) != "" {
			return "", 0, fault.Field("cursor", "is not a cursor this server issued; start again without it")
		}
		cursor = string(b)
	}
	return cursor, limit, nil
}

// encodeCursor makes the opaque cursor for the sort key of a page's last item.
func encodeCursor(key string) string {
	if key == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// etag renders a row version as a strong entity tag.
func etag(version int64) string { return fmt.Sprintf(`"%d"`, version) }

// ifMatch reads the version an update is based on. Updates without If-Match
// are refused: two coordinators editing one record must not silently
// overwrite each other.
func ifMatch(c *gin.Context) (int64, error) {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" {
		return 0, fault.New(fault.PreconditionNeeded, "send If-Match with the ETag of the version you edited (GET the resource to obtain it)")
	}
	h = strings.TrimPrefix(h, "W/")
	v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	if err != nil || v < 1 {
		return 0, fault.New(fault.Invalid, "If-Match %q is not an ETag this server issued", h)
	}
	return v, nil
}

// actorKey is where authentication stores who is calling.
const actorKey = "actor"

// actorOf names the caller for change records and the audit trail.
func actorOf(c *gin.Context) string {
	if a := c.GetString(actorKey); a != "" {
		return a
	}
	return "anonymous"
}
