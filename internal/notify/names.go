package notify

import (
	"context"
	"fmt"
	"maps"
	"regexp"

	"github.com/lib/pq"
)

// Named returns n with the name beside each region code people read: the
// subject and body say "海盐县（330424）" where the workflow wrote 330424,
// RegionName names the receiving region, and the payload carries
// county_name beside county. A code is replaced only as a whole word, never
// inside an object's credit code (whose digits 3–8 are a region code).
func (s *Store) Named(ctx context.Context, n Notification) (Notification, error) {
	codes := []string{n.RegionCode}
	county, _ := n.Payload["county"].(string)
	if county != "" {
		codes = append(codes, county)
	}
	var rows []struct {
		Code string `db:"code"`
		Name string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT code, name FROM regions WHERE code = ANY ($1)`, pq.Array(codes)); err != nil {
		return n, fmt.Errorf("notify: names of regions %v: %w", codes, err)
	}
	names := map[string]string{}
	for _, r := range rows {
		names[r.Code] = r.Name
	}
	n.RegionName = names[n.RegionCode]
	if name := names[county]; name != "" {
		n.Payload = maps.Clone(n.Payload)
		n.Payload["county_name"] = name
	}
	for code, name := range names {
		word := regexp.MustCompile(`(^|[^0-9A-Za-z（])` + regexp.QuoteMeta(code) + `($|[^0-9A-Za-z）])`)
		with := "${1}" + name + "（" + code + "）${2}"
		n.Subject = word.ReplaceAllString(n.Subject, with)
		n.Body = word.ReplaceAllString(n.Body, with)
	}
	return n, nil
}
