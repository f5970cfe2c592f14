package notify

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"

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

// terms are the Chinese names (and common short forms) contacts accept
// beside the codes of roles, channels and delivery modes; each is stored
// as its code.
var terms = map[string]string{
	"县（市、区）局经办人": RoleCountyOfficer, "县局经办人": RoleCountyOfficer, "经办人": RoleCountyOfficer,
	"县（市、区）局负责人": RoleCountyHead, "县局负责人": RoleCountyHead, "负责人": RoleCountyHead,
	"市局统筹": RoleCityCoordinator, "市局统筹人员": RoleCityCoordinator,
	"网络回调": ChannelWebhook, "电子邮件": ChannelEmail, "邮件": ChannelEmail, "日志": ChannelLog,
	"钉钉": ChannelDingTalk, "浙政钉": ChannelDingTalk, "企业微信": ChannelWeCom,
	"逐条": DeliveryImmediate, "即时": DeliveryImmediate, "汇总": DeliveryDigest, "每日汇总": DeliveryDigest,
}

// canonical returns in with its role, channel and delivery written as codes
// when they were given as Chinese terms.
func (in NewContact) canonical() NewContact {
	for _, f := range []*string{&in.Role, &in.Channel, &in.Delivery} {
		*f = strings.TrimSpace(*f)
		if code, ok := terms[*f]; ok {
			*f = code
		}
	}
	return in
}
