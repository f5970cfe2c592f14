package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func isSourceURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// openSource opens a file or GETs a URL (with a bearer token when one is
// given), which must answer 200; an error answer is reported with its
// problem detail. The timeout covers the whole transfer.
func openSource(ctx context.Context, source, token string, timeout time.Duration) (io.Reader, func(), error) {
	if !isSourceURL(source) {
		f, err := os.Open(source)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		cancel()
		return nil, nil, usageError{fmt.Sprintf("%q is not a usable URL: %v", source, err)}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("GET %s: %w", source, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var problem struct {
			Detail string `json:"detail"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &problem) == nil && problem.Detail != "" {
			msg = problem.Detail
		}
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		return nil, nil, fmt.Errorf("GET %s: %s: %s", source, resp.Status, msg)
	}
	return resp.Body, func() { resp.Body.Close(); cancel() }, nil
}

// readSource reads a file or URL of at most limit bytes; what names the
// expected content in the message about an oversized one.
func readSource(ctx context.Context, source, token string, timeout time.Duration, limit int64, what string) ([]byte, error) {
	r, closeR, err := openSource(ctx, source, token, timeout)
	if err != nil {
		return nil, err
	}
	defer closeR()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d MiB: not %s", source, limit>>20, what)
	}
	return data, nil
}
