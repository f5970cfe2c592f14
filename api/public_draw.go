package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// The draw's public documents (DRAW-SPEC section 3), served to anyone
// without a token: the proof once the batch is drawn, the population once
// it is frozen. Neither changes afterwards, so both may be cached for good.
const immutable = "public, max-age=31536000, immutable"

// proof answers GET /public/batches/{id}/draw-proof: the proof exactly as
// stored at the draw, or a 404 problem before it.
func (h *batchAPI) proof(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	data, err := h.svc.Proof(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.s.fail(c, err)
		return
	}
	sum := sha256.Sum256(data)
	tag := `"` + hex.EncodeToString(sum[:]) + `"`
	c.Header("ETag", tag)
	c.Header("Cache-Control", immutable)
	if notModified(c, tag) {
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", data)
}

// population answers GET /public/batches/{id}/population.tsv: the frozen
// population in canonical form, streamed, whose SHA-256 is the proof's
// population_hash (also its ETag); a 404 problem before the freeze.
func (h *batchAPI) population(c *gin.Context) {
	if _, err := checkQuery(c); err != nil {
		h.s.fail(c, err)
		return
	}
	id := c.Param("id")
	b, err := h.svc.Get(c.Request.Context(), id)
	if err != nil {
		h.s.fail(c, err)
		return
	}
	if b.PopulationHash == "" {
		h.s.fail(c, fault.New(fault.NotFound, "batch %s is %s: its population is published once it is frozen", id, b.State))
		return
	}
	tag := `"` + b.PopulationHash + `"`
	if notModified(c, tag) {
		c.Header("ETag", tag)
		c.Header("Cache-Control", immutable)
		return
	}
	// The headers go out with the first byte, so that a failure before
	// it is still answered with a problem.
	w := &firstWrite{ResponseWriter: c.Writer, before: func(hd http.Header) {
		hd.Set("Content-Type", "text/tab-separated-values; charset=utf-8")
		hd.Set("Content-Length", strconv.FormatInt(b.PopulationBytes, 10))
		hd.Set("Content-Disposition", `inline; filename="`+id+`-population.tsv"`)
		hd.Set("ETag", tag)
		hd.Set("Cache-Control", immutable)
	}}
	if err := h.svc.WritePopulation(c.Request.Context(), id, w); err != nil {
		if !w.started {
			h.s.fail(c, err)
			return
		}
		// Too late for a problem: the client sees a body shorter than
		// Content-Length.
		h.s.log.Error("population stream failed", zap.String("request_id", c.GetString(requestIDKey)),
			zap.String("batch", id), zap.Error(err))
		c.Abort()
	}
}

// notModified answers 304 if the client holds tag.
func notModified(c *gin.Context, tag string) bool {
	for _, t := range strings.Split(c.GetHeader("If-None-Match"), ",") {
		if t = strings.TrimSpace(t); t == tag || t == "*" || t == "W/"+tag {
			c.Status(http.StatusNotModified)
			return true
		}
	}
	return false
}

// firstWrite calls before with the response headers just before the first
// byte is written.
type firstWrite struct {
	gin.ResponseWriter
	before  func(http.Header)
	started bool
}

func (w *firstWrite) Write(b []byte) (int, error) {
	if !w.started {
		w.started = true
		w.before(w.Header())
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
