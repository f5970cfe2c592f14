package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// Default robot endpoints; a 浙政钉 (government DingTalk) deployment sets
// its own host with DINGTALK_BASE_URL.
const (
	DefaultDingTalkURL = "https://oapi.dingtalk.com/robot/send"
	DefaultWeComURL    = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
)

// Both robots accept at most 20 messages a minute each (DingTalk then
// throttles the robot for 10 minutes); a worker paces its own sends to
// stay below, and a refusal for speed is retried later.
const (
	robotPerMinute = 20
	robotBurst     = 20
)

// DingTalk posts markdown messages to a DingTalk custom robot (自定义机器人)
// secured by signature (加签): the request URL carries timestamp (Unix
// milliseconds) and sign, the URL-encoded base64 HMAC-SHA256 of
// "timestamp\nsecret" keyed with the secret. The contact's address is the
// robot's access_token, its secret the robot's signing secret, and its
// mobile, when set, is @-mentioned.
type DingTalk struct {
	// BaseURL is the robot endpoint; empty means DefaultDingTalkURL.
	BaseURL string
	// Client sends the requests; nil means one with a 15-second timeout.
	Client *http.Client
	// Now is the clock of the timestamp; nil means time.Now.
	Now func() time.Time

	pace pacer
}

// DingTalkMessage is the request body of a markdown message, as the
// DingTalk robot documents it.
type DingTalkMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	At struct {
		AtMobiles []string `json:"atMobiles,omitempty"`
		IsAtAll   bool     `json:"isAtAll"`
	} `json:"at"`
}

// DingTalkSign returns the sign parameter (before URL encoding) of a
// request at timestamp (Unix milliseconds) under secret.
func DingTalkSign(timestamp int64, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Send posts n to the robot. Error codes 410100 and 130101 (sending too
// fast) and -1 (system busy) may pass later; any other non-zero errcode is
// permanent (a wrong token or signature, a removed robot, content refused).
func (d *DingTalk) Send(ctx context.Context, to Recipient, n Notification) error {
	if to.Secret == "" {
		return Permanent(fmt.Errorf("DingTalk contact %d has no signing secret", to.ContactID))
	}
	var msg DingTalkMessage
	msg.MsgType = "markdown"
	msg.Markdown.Title = n.Subject
	// DingTalk's markdown breaks lines only at two spaces before a newline.
	text := "#### " + n.Subject + "\n\n" + strings.ReplaceAll(n.Body, "\n", "  \n")
	if to.Mobile != "" {
		// The mention shows only when the text names the number too.
		msg.At.AtMobiles = []string{to.Mobile}
		text += "\n\n@" + to.Mobile
	}
	msg.Markdown.Text = text
	body, err := json.Marshal(msg)
	if err != nil {
		return Permanent(fmt.Errorf("encode DingTalk message: %w", err))
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	if err := d.pace.wait(ctx, to.Address); err != nil {
		return err
	}
	ts := now().UnixMilli()
	q := url.Values{}
	q.Set("access_token", to.Address)
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	q.Set("sign", DingTalkSign(ts, to.Secret))
	base := d.BaseURL
	if base == "" {
		base = DefaultDingTalkURL
	}
	return postRobot(ctx, d.Client, "DingTalk", base, q, body, func(code int) bool {
		return code == 410100 || code == 130101 || code == -1
	})
}

// WeCom posts markdown messages to a WeChat Work group robot (群机器人):
// the contact's address is the robot's key. Its markdown content is at
// most 4096 bytes; a longer body is cut at a line with a note.
type WeCom struct {
	// BaseURL is the robot endpoint; empty means DefaultWeComURL.
	BaseURL string
	// Client sends the requests; nil means one with a 15-second timeout.
	Client *http.Client

	pace pacer
}

// WeComMessage is the request body of a markdown message, as the WeChat
// Work group robot documents it.
type WeComMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Content string `json:"content"`
	} `json:"markdown"`
}

// WeComMaxContent is the robot's limit on markdown content, in bytes.
const WeComMaxContent = 4096

// Send posts n to the robot. Error codes 45009 (over the frequency limit)
// and -1 (system busy) may pass later; any other non-zero errcode is
// permanent (93000: the key is wrong or the robot removed).
func (w *WeCom) Send(ctx context.Context, to Recipient, n Notification) error {
	var msg WeComMessage
	msg.MsgType = "markdown"
	msg.Markdown.Content = cutLines("### "+n.Subject+"\n"+n.Body, WeComMaxContent, "\n……（其余略，请登录系统查看）")
	body, err := json.Marshal(msg)
	if err != nil {
		return Permanent(fmt.Errorf("encode WeChat Work message: %w", err))
	}
	if err := w.pace.wait(ctx, to.Address); err != nil {
		return err
	}
	q := url.Values{}
	q.Set("key", to.Address)
	base := w.BaseURL
	if base == "" {
		base = DefaultWeComURL
	}
	return postRobot(ctx, w.Client, "WeChat Work", base, q, body, func(code int) bool {
		return code == 45009 || code == -1
	})
}

// cutLines returns s if it fits in max bytes, else its longest prefix of
// whole lines that fits with note after it.
func cutLines(s string, max int, note string) string {
	if len(s) <= max {
		return s
	}
	limit := max - len(note)
	cut := strings.LastIndexByte(s[:limit], '\n')
	if cut <= 0 {
		cut = limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return s[:cut] + note
}

// robotAnswer is the JSON both robots answer, with HTTP 200 also on errors.
type robotAnswer struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// postRobot posts body to base with query q and reads the robot's answer;
// retryable says which error codes may pass on a later attempt. HTTP
// errors are classed as for webhooks. The query (the robot's token and
// signature) never appears in errors.
func postRobot(ctx context.Context, client *http.Client, vendor, base string, q url.Values, body []byte, retryable func(int) bool) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return Permanent(fmt.Errorf("%s robot URL %q is not a URL", vendor, base))
	}
	query := u.Query()
	for k, v := range q {
		query[k] = v
	}
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("%s robot request: %w", vendor, err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "spotcheck-notify/1")
	if client == nil {
		client = defaultWebhookClient
	}
	where := redactURL(u.String())
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s robot POST %s: %w", vendor, where, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return statusError(resp.StatusCode, fmt.Errorf("%s robot POST %s: %s: %s", vendor, where, resp.Status, strings.TrimSpace(truncate(string(answer), 300))))
	}
	var a robotAnswer
	if err := json.Unmarshal(answer, &a); err != nil || a.ErrCode == nil {
		return fmt.Errorf("%s robot POST %s: answer is not the robot's JSON: %s", vendor, where, truncate(string(answer), 300))
	}
	if *a.ErrCode == 0 {
		return nil
	}
	err = fmt.Errorf("%s robot refused the message: errcode %d: %s", vendor, *a.ErrCode, truncate(a.ErrMsg, 300))
	if retryable(*a.ErrCode) {
		return err
	}
	return Permanent(err)
}

// pacer keeps one worker's sends to each robot under the robot's limit.
type pacer struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// wait blocks until a message to robot may go; when that would take longer
// than ctx allows, it says so at once (retryable: the next attempt waits).
func (p *pacer) wait(ctx context.Context, robot string) error {
	p.mu.Lock()
	if p.m == nil {
		p.m = map[string]*rate.Limiter{}
	}
	l := p.m[robot]
	if l == nil {
		l = rate.NewLimiter(rate.Every(time.Minute/robotPerMinute), robotBurst)
		p.m[robot] = l
	}
	p.mu.Unlock()
	if err := l.Wait(ctx); err != nil {
		return fmt.Errorf("robot rate limit (%d messages a minute): %w", robotPerMinute, err)
	}
	return nil
}
