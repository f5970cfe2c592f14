package api

import (
	"context"
	"sync"
	"time"
)

// progressCache keeps each (batch, county) progress for ttl, for bursts
// of pollers (the counters make each read an index lookup already);
// concurrent misses of one key wait for a single count.
type progressCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[[2]string]*progressEntry
}

type progressEntry struct {
	ready chan struct{}
	at    time.Time
	p     Progress
	err   error
}

func newProgressCache(ttl time.Duration) *progressCache {
	return &progressCache{ttl: ttl, m: map[[2]string]*progressEntry{}}
}

// get returns the cached progress of key or computes it with load. Errors
// are not kept.
func (pc *progressCache) get(ctx context.Context, key [2]string, load func(context.Context) (Progress, error)) (Progress, error) {
	now := time.Now()
	pc.mu.Lock()
	e := pc.m[key]
	if e != nil {
		select {
		case <-e.ready:
			if e.err != nil || now.Sub(e.at) > pc.ttl {
				e = nil
			}
		default: // being counted: wait for it below
		}
	}
	if e == nil {
		if len(pc.m) > 10000 {
			pc.m = map[[2]string]*progressEntry{} // many batches: start over rather than grow
		}
		e = &progressEntry{ready: make(chan struct{}), at: now}
		pc.m[key] = e
		pc.mu.Unlock()
		// The count must finish for the waiters even if this caller leaves.
		e.p, e.err = load(context.WithoutCancel(ctx))
		close(e.ready)
		return e.p, e.err
	}
	pc.mu.Unlock()
	select {
	case <-e.ready:
		return e.p, e.err
	case <-ctx.Done():
		return Progress{}, ctx.Err()
	}
}
