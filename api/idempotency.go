package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/idempotency"
)

// idempotentRoutes start things: batches, imports, plans.
var idempotentRoutes = map[string]bool{
	"POST /api/v1/batches":           true,
	"POST /api/v1/objects/import":    true,
	"POST /api/v1/inspectors/import": true,
	"POST /api/v1/plans":             true,
	"POST /api/v1/plans/:id/start":   true,
}

// idempotent honours the Idempotency-Key header on a POST that starts
// something: the first request with a key runs and its response (below
// 500) is kept; the same key and the same request again is answered with
// that response and Idempotent-Replayed: true; the same key with another
// request is 422; while the first is still running, 409 with Retry-After.
// Keys belong to the caller (principal), so two callers cannot collide.
// Only successes are kept: after a 4xx or 5xx the caller may retry with
// the same key. The records are package idempotency's; its Store.SweepEvery
// removes expired ones.
//
// It runs on the whole /api/v1 group and acts on the routes of
// idempotentRoutes only: the workflow updates of the lifecycle use the key
// as their update ID instead (see Server.update).
func (s *Server) idempotent() gin.HandlerFunc {
	keys := s.d.Services.Idempotency
	return func(c *gin.Context) {
		key := c.GetHeader("Idempotency-Key")
		if key == "" || !idempotentRoutes[c.Request.Method+" "+c.FullPath()] {
			c.Next()
			return
		}
		if len(key) > 200 || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			abort(c, http.StatusBadRequest, "invalid-input", "Idempotency-Key must be 1 to 200 printable characters.",
				FieldProblem{Field: "Idempotency-Key", Message: "1 to 200 printable characters"})
			return
		}
		sum, cleanup, err := s.spoolBody(c)
		defer cleanup()
		if err != nil {
			s.fail(c, err)
			return
		}
		ctx := c.Request.Context()
		principal := principalOf(c).Actor()
		path := c.Request.URL.EscapedPath()
		owned, err := keys.Claim(ctx, principal, key, c.Request.Method, path, sum)
		if err != nil {
			s.fail(c, err)
			return
		}
		if !owned {
			s.replay(c, keys, principal, key, sum)
			return
		}
		w := &capturingWriter{ResponseWriter: c.Writer}
		c.Writer = w
		c.Next()
		// The request's context may be gone (client left); the record must
		// still be finished so that the key is not stuck.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		status := w.Status()
		// A refused request (4xx) or a failed one (5xx) changed nothing:
		// it keeps no record, so that refusals cannot grow the table and the
		// caller may send the corrected request with the same key.
		if status >= 400 {
			err = keys.Release(fctx, principal, key)
		} else {
			hdr, _ := json.Marshal(map[string]string{"Location": w.Header().Get("Location"), "ETag": w.Header().Get("ETag")})
			err = keys.Finish(fctx, principal, key, status, w.Header().Get("Content-Type"), hdr, w.body.Bytes())
		}
		if err != nil {
			s.log.Error("cannot record idempotency key", zap.String("request_id", c.GetString(requestIDKey)), zap.Error(err))
		}
	}
}

func (s *Server) replay(c *gin.Context, keys *idempotency.Store, principal, key string, sum []byte) {
	rec, ok, err := keys.Get(c.Request.Context(), principal, key)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !ok {
		// Deleted since (a 5xx of the first request): try again.
		c.Header("Retry-After", "1")
		abort(c, http.StatusConflict, "idempotency-key-in-use", "The first request with this Idempotency-Key failed just now; send it again.")
		return
	}
	if !bytes.Equal(rec.Hash, sum) {
		abort(c, http.StatusUnprocessableEntity, "idempotency-key-reused",
			"This Idempotency-Key was used for another request (another path or body); use a new key for a new request.")
		return
	}
	if rec.Status == 0 {
		c.Header("Retry-After", "1")
		abort(c, http.StatusConflict, "idempotency-key-in-use", "The first request with this Idempotency-Key is still being processed; ask again shortly.")
		return
	}
	var hdr map[string]string
	_ = json.Unmarshal(rec.Headers, &hdr)
	for k, v := range hdr {
		if v != "" {
			c.Header(k, v)
		}
	}
	c.Header("Idempotent-Replayed", "true")
	c.Data(rec.Status, rec.ContentType, rec.Response)
	c.Abort()
}

// spoolBody reads the request body once, hashing it with the method, path
// and query, and puts it back for the handler: in memory up to the JSON
// limit, beyond that in a temporary file (imports), up to the import limit.
func (s *Server) spoolBody(c *gin.Context) (sum []byte, cleanup func(), err error) {
	cleanup = func() {}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", c.Request.Method, c.Request.URL.EscapedPath(), c.Request.URL.RawQuery)
	if c.Request.Body == nil {
		return h.Sum(nil), cleanup, nil
	}
	limit := int64(maxJSONBody)
	if strings.HasPrefix(c.GetHeader("Content-Type"), "multipart/") {
		limit = importMaxBytes(s.log) + 1<<20
	}
	head := make([]byte, 0, 4096)
	buf := bytes.NewBuffer(head)
	n, err := io.CopyN(buf, c.Request.Body, maxJSONBody+1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, cleanup, fmt.Errorf("read request body: %w", err)
	}
	if n <= maxJSONBody {
		h.Write(buf.Bytes())
		c.Request.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
		return h.Sum(nil), cleanup, nil
	}
	f, err := os.CreateTemp("", "spotcheck-idem-*")
	if err != nil {
		return nil, cleanup, err
	}
	cleanup = func() { f.Close(); os.Remove(f.Name()) }
	if err := spoolTo(f, h, buf, c.Request.Body, limit); err != nil {
		return nil, cleanup, err
	}
	c.Request.Body = f
	return h.Sum(nil), cleanup, nil
}

func spoolTo(f *os.File, h hash.Hash, head *bytes.Buffer, rest io.Reader, limit int64) error {
	w := io.MultiWriter(f, h)
	if _, err := w.Write(head.Bytes()); err != nil {
		return err
	}
	n, err := io.Copy(w, io.LimitReader(rest, limit-int64(head.Len())+1))
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if int64(head.Len())+n > limit {
		return tooLarge(limit)
	}
	_, err = f.Seek(0, io.SeekStart)
	return err
}

// capturingWriter keeps a copy of the response body.
type capturingWriter struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *capturingWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *capturingWriter) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

func tooLarge(limit int64) error {
	return fault.New(fault.TooLarge, "the request body is larger than the limit of %d bytes", limit)
}
