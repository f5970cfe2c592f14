package api

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// cors answers browsers from the configured origins only; with none
// configured it adds nothing, and browsers refuse cross-origin calls.
// Preflight requests (OPTIONS with Access-Control-Request-Method) are
// answered here, before routing.
func cors(origins []string) gin.HandlerFunc {
	allowed := map[string]bool{}
	any := false
	for _, o := range origins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o == "*" {
			any = true
		} else if o != "" {
			allowed[o] = true
		}
	}
	if !any && len(allowed) == 0 {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		c.Writer.Header().Add("Vary", "Origin")
		if origin == "" || !(any || allowed[origin]) {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "ETag, Location, Link, Retry-After, X-Request-ID, Idempotent-Replayed, X-Manifest-SHA256")
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-ID")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

// rateLimit is a token bucket per client IP: rate requests a second, bursts
// of burst. Over it, a 429 problem with Retry-After. rate 0 = no limit.
// The client IP is the connection's peer (RemoteIP), not X-Forwarded-For,
// which any client can forge; behind a reverse proxy, limit there.
func rateLimit(rate float64, burst int) gin.HandlerFunc {
	return rateLimitBy(rate, burst, func(c *gin.Context) string { return c.RemoteIP() }, "your address")
}

// principalRateLimit is the token bucket of the authenticated API: per
// principal (the token's holder), so that one caller cannot starve the
// others, whatever addresses it uses. It runs after authenticate.
func principalRateLimit(rate float64, burst int) gin.HandlerFunc {
	return rateLimitBy(rate, burst, func(c *gin.Context) string { return actorOf(c) }, "your token")
}

func rateLimitBy(rate float64, burst int, key func(*gin.Context) string, whose string) gin.HandlerFunc {
	if rate <= 0 {
		return func(c *gin.Context) { c.Next() }
	}
	l := &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
	return func(c *gin.Context) {
		wait := l.take(key(c), time.Now())
		if wait > 0 {
			c.Header("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
			abort(c, http.StatusTooManyRequests, "too-many-requests",
				fmt.Sprintf("Too many requests from %s: at most %g a second. Try again in %d s.", whose, rate, int(math.Ceil(wait.Seconds()))))
			return
		}
		c.Next()
	}
}

type bucket struct {
	tokens float64
	at     time.Time
}

type limiter struct {
	mu          sync.Mutex
	rate, burst float64
	buckets     map[string]*bucket
	swept       time.Time
}

// take spends a token of ip's bucket, or says how long until one is there.
func (l *limiter) take(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		// Full buckets are the same as none: forget them.
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[ip]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[ip] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}
