// Package catalog is the message catalogue: the Chinese of the messages
// people read when the system refuses something (problem details, field
// and import row problems), for pages and for API callers who ask for
// zh-CN. Messages are written in English where they are made, with
// fmt verbs; the catalogue (golang.org/x/text/message) holds the Chinese
// of each format. A message is translated by finding the format it was
// made from and formatting its arguments into the Chinese, so the places
// that make messages stay as they are.
package catalog

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

var (
	zh      = language.SimplifiedChinese
	matcher = language.NewMatcher([]language.Tag{language.English, zh})
	printer *message.Printer
	formats []pattern
)

// A pattern recognises the messages made from one English format.
type pattern struct {
	format string
	re     *regexp.Regexp
}

func init() {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	for en, cn := range chinese {
		if err := b.SetString(zh, en, cn); err != nil {
			panic("catalog: " + en + ": " + err.Error())
		}
		formats = append(formats, pattern{format: en, re: regexp.MustCompile("^" + toRegexp(en) + "$")})
	}
	// The most literal text first: "batch %s is committed; …" before
	// "batch %s is %s; …", which would match it too.
	sort.Slice(formats, func(i, j int) bool {
		li, lj := literalLen(formats[i].format), literalLen(formats[j].format)
		if li != lj {
			return li > lj
		}
		return formats[i].format < formats[j].format
	})
	printer = message.NewPrinter(zh, message.Catalog(b))
}

var verb = regexp.MustCompile(`%(?:\[\d+\])?[-+# 0]*\d*(?:\.\d+)?[a-zA-Z%]`)

// toRegexp turns a format into a pattern that captures each argument.
func toRegexp(format string) string {
	var b strings.Builder
	last := 0
	for _, loc := range verb.FindAllStringIndex(format, -1) {
		b.WriteString(regexp.QuoteMeta(format[last:loc[0]]))
		v := format[loc[0]:loc[1]]
		switch v[len(v)-1] {
		case '%':
			b.WriteString("%")
		case 'd':
			b.WriteString(`(-?\d+)`)
		case 'q':
			b.WriteString(`("(?:[^"\\]|\\.)*"|` + "`[^`]*`" + `)`)
		default:
			b.WriteString(`(.*?)`)
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(format[last:]))
	return b.String()
}

func literalLen(format string) int { return len(verb.ReplaceAllString(format, "")) }

// Formats returns every English format the catalogue translates.
func Formats() []string {
	out := make([]string, len(formats))
	for i, p := range formats {
		out[i] = p.format
	}
	sort.Strings(out)
	return out
}

// Has reports whether the catalogue translates format.
func Has(format string) bool {
	_, ok := chinese[format]
	return ok
}

// Chinese returns msg in Chinese and true, or msg and false when the
// catalogue has no format it could have been made from.
func Chinese(msg string) (string, bool) {
	if msg == "" {
		return msg, true
	}
	for _, p := range formats {
		m := p.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		args := make([]any, len(m)-1)
		for i, a := range m[1:] {
			// An argument may be a message of its own ("the token's
			// county: …").
			if t, ok := Chinese(a); ok && t != a && strings.ContainsAny(a, " ") {
				a = t
			} else if t, ok := terms[a]; ok {
				a = t
			}
			args[i] = a
		}
		return printer.Sprintf(p.format, args...), true
	}
	return msg, false
}

// PrefersChinese reports whether an Accept-Language header asks for
// Chinese rather than English (zh, zh-CN, zh-Hans, with their weights).
func PrefersChinese(acceptLanguage string) bool {
	if acceptLanguage == "" {
		return false
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return false
	}
	tag, _, _ := matcher.Match(tags...)
	base, _ := tag.Base()
	return base.String() == "zh"
}

// Title is the Chinese of an HTTP status's title.
func Title(status int) string {
	if t, ok := titles[status]; ok {
		return t
	}
	return http.StatusText(status)
}

// terms are the codes of states and actions that messages name, as a
// person reads them.
var terms = map[string]string{
	"draft": "草稿", "submitted": "已提交待审", "approved": "已审核", "published": "已公布",
	"submit": "提交", "return": "退回", "approve": "审核通过", "publish": "公布",
	"committed": "已公布承诺值", "frozen": "名单已冻结", "drawn": "已抽取", "locked": "已锁定分配",
	"archived": "已存档", "cancelled": "已取消",
}

var titles = map[int]string{
	http.StatusBadRequest: "请求有误", http.StatusUnauthorized: "未登录或凭证无效", http.StatusForbidden: "无权操作",
	http.StatusNotFound: "未找到", http.StatusMethodNotAllowed: "不支持该操作", http.StatusConflict: "当前状态不允许",
	http.StatusPreconditionFailed: "内容已被他人修改", http.StatusRequestEntityTooLarge: "内容过大",
	http.StatusUnprocessableEntity: "请求与此前不一致", http.StatusPreconditionRequired: "需要版本号（If-Match）",
	http.StatusTooManyRequests: "请求过于频繁", http.StatusInternalServerError: "系统故障", http.StatusServiceUnavailable: "服务暂不可用",
}
