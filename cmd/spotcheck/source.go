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
	r, _, closeR, err := openSourceHeader(ctx, source, token, timeout)
	return r, closeR, err
}

// openSourceHeader is openSource that also returns the response's header
// (nil for a file), for a document whose hash travels in a header.
func openSourceHeader(ctx context.Context, source, token string, timeout time.Duration) (io.Reader, http.Header, func(), error) {
	if !isSourceURL(source) {
		f, err := os.Open(source)
		if err != nil {
			return nil, nil, nil, err
		}
		return f, nil, func() { f.Close() }, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		cancel()
		return nil, nil, nil, usageError{fmt.Sprintf("%q is not a usable URL: %v", source, err)}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, nil, nil, fmt.Errorf("GET %s: %w", source, err)
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
		return nil, nil, nil, fmt.Errorf("GET %s: %s: %s", source, resp.Status, msg)
	}
	return resp.Body, resp.Header, func() { resp.Body.Close(); cancel() }, nil
}

// readSource reads a file or URL of at most limit bytes; what names the
// expected content in the message about an oversized one.
func readSource(ctx context.Context, source, token string, timeout time.Duration, limit int64, what string) ([]byte, error) {
	data, _, err := readSourceHeader(ctx, source, token, timeout, limit, what)
	return data, err
}

func readSourceHeader(ctx context.Context, source, token string, timeout time.Duration, limit int64, what string) ([]byte, http.Header, error) {
	r, header, closeR, err := openSourceHeader(ctx, source, token, timeout)
	if err != nil {
		return nil, nil, err
	}
	defer closeR()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", source, err)
	}
	if int64(len(data)) > limit {
		return nil, nil, fmt.Errorf("%s is larger than %d MiB: not %s", source, limit>>20, what)
	}
	return data, header, nil
}
