// Package notifytest runs real receivers for tests of notifications: an SMTP
// server (github.com/emersion/go-smtp), an HTTP webhook receiver that
// checks signatures, and DingTalk and WeChat Work robot endpoints that check
// requests as those vendors document them; all on loopback ports and
// stopped when the test ends.
package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message the SMTP server accepted.
type Mail struct {
	From string
	To   []string
	Data []byte
}

// SMTPServer is a real SMTP server that keeps every message it accepts.
type SMTPServer struct {
	Addr string

	mu       sync.Mutex
	mails    []Mail
	rcptErrs []error
	user     string
	password string
}

// StartSMTP starts an SMTP server on a loopback port. With user set, it
// requires AUTH PLAIN with user and password before accepting mail.
func StartSMTP(t testing.TB, user, password string) *SMTPServer {
	t.Helper()
	s := &SMTPServer{user: user, password: password}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback only
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return s
}

// FailRcpt makes the next RCPT commands fail with errs, one per command, in
// order (e.g. &smtp.SMTPError{Code: 550}).
func (s *SMTPServer) FailRcpt(errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptErrs = append(s.rcptErrs, errs...)
}

// Mails returns the messages accepted so far.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// NewSession implements smtp.Backend.
func (s *SMTPServer) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &session{srv: s, authed: s.user == ""}, nil
}

type session struct {
	srv    *SMTPServer
	authed bool
	mail   Mail
}

func (ss *session) AuthMechanisms() []string {
	if ss.srv.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != ss.srv.user || password != ss.srv.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.mail = Mail{From: from}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	var err error
	if len(ss.srv.rcptErrs) > 0 {
		err, ss.srv.rcptErrs = ss.srv.rcptErrs[0], ss.srv.rcptErrs[1:]
	}
	ss.srv.mu.Unlock()
	if err != nil {
		return err
	}
	ss.mail.To = append(ss.mail.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.mail.Data = b
	ss.srv.mu.Lock()
	ss.srv.mails = append(ss.srv.mails, ss.mail)
	ss.srv.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.mail = Mail{} }
func (ss *session) Logout() error { return nil }

// Request is one request the webhook receiver got.
type Request struct {
	Header http.Header
	Body   []byte
	// SignatureOK says whether X-Spotcheck-Signature was the HMAC-SHA256 of
	// the body under the receiver's secret, computed here independently.
	SignatureOK bool
}

// Receiver is a real HTTP server that records webhook requests.
type Receiver struct {
	URL    string
	Secret string

	mu       sync.Mutex
	requests []Request
	statuses []int
}

// StartReceiver starts a webhook receiver that checks signatures with secret.
func StartReceiver(t testing.TB, secret string) *Receiver {
	t.Helper()
	r := &Receiver{Secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Respond makes the receiver answer the next requests with statuses, in
// order; after them it answers 200 again.
func (r *Receiver) Respond(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, statuses...)
}

// Requests returns the requests received so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m := hmac.New(sha256.New, []byte(r.Secret))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	ok := req.Method == http.MethodPost && hmac.Equal([]byte(req.Header.Get("X-Spotcheck-Signature")), []byte(want))
	r.mu.Lock()
	r.requests = append(r.requests, Request{Header: req.Header.Clone(), Body: body, SignatureOK: ok})
	status := http.StatusOK
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	r.mu.Unlock()
	if !ok && status == http.StatusOK {
		status = http.StatusUnauthorized
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status))
}

// ChatMessage is one message a robot receiver accepted or refused.
type ChatMessage struct {
	// Token is the robot's access_token (DingTalk) or key (WeChat Work).
	Token string
	// Title and Text are the markdown message's (WeChat Work: Text only).
	Title, Text string
	AtMobiles   []string
	// SignatureOK says whether timestamp and sign were as DingTalk
	// documents them, checked here independently of the sender.
	SignatureOK bool
	// ErrCode is what the receiver answered (0: accepted).
	ErrCode int
}

// ChatReceiver is a real HTTP server that behaves as a DingTalk custom
// robot or a WeChat Work group robot does: it answers HTTP 200 with
// {"errcode", "errmsg"}, refuses a wrong token, a bad signature (DingTalk:
// 310000), a body not in the documented markdown format, and more than 20
// messages a minute per robot (DingTalk 410100, WeChat Work 45009).
type ChatReceiver struct {
	// URL is the robot endpoint to configure as the base URL.
	URL string
	// Now is the receiver's clock, for the signature's one-hour window and
	// the rate limit: the sender's clock in tests of the channel, the real
	// one (nil at start) for a running system.
	Now func() time.Time

	vendor string
	mu     sync.Mutex
	robots map[string]string // token -> DingTalk secret ("" for WeChat Work)
	codes  []int
	sent   map[string][]time.Time
	msgs   []ChatMessage
}

// StartDingTalk starts a DingTalk robot endpoint at /robot/send.
func StartDingTalk(t testing.TB, now func() time.Time) *ChatReceiver {
	return startChat(t, "dingtalk", "/robot/send", now)
}

// StartWeCom starts a WeChat Work robot endpoint at /cgi-bin/webhook/send.
func StartWeCom(t testing.TB, now func() time.Time) *ChatReceiver {
	return startChat(t, "wecom", "/cgi-bin/webhook/send", now)
}

func startChat(t testing.TB, vendor, path string, now func() time.Time) *ChatReceiver {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	r := &ChatReceiver{vendor: vendor, Now: now, robots: map[string]string{}, sent: map[string][]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc(path, r.serve)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r.URL = srv.URL + path
	return r
}

// AddRobot registers a robot: its token and, for DingTalk, its signing
// secret.
func (r *ChatReceiver) AddRobot(token, secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.robots[token] = secret
}

// Answer makes the receiver refuse the next messages with these error
// codes, in order, before checking anything else.
func (r *ChatReceiver) Answer(codes ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes = append(r.codes, codes...)
}

// Messages returns the messages received so far, accepted or not.
func (r *ChatReceiver) Messages() []ChatMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ChatMessage(nil), r.msgs...)
}

// Accepted returns the messages answered with errcode 0.
func (r *ChatReceiver) Accepted() []ChatMessage {
	var ok []ChatMessage
	for _, m := range r.Messages() {
		if m.ErrCode == 0 {
			ok = append(ok, m)
		}
	}
	return ok
}

func (r *ChatReceiver) serve(w http.ResponseWriter, req *http.Request) {
	answer := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"errcode":%d,"errmsg":%q}`, code, msg)
	}
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := req.URL.Query()
	m := ChatMessage{Token: q.Get("access_token")}
	if r.vendor == "wecom" {
		m.Token = q.Get("key")
	}
	code, msg := r.check(req, q, body, &m)
	r.mu.Lock()
	if code == 0 && len(r.codes) > 0 {
		code, msg, r.codes = r.codes[0], "injected by the test", r.codes[1:]
	}
	if code == 0 {
		// 20 a minute per robot, counted on the receiver's clock.
		now := r.Now()
		var recent []time.Time
		for _, at := range r.sent[m.Token] {
			if now.Sub(at) < time.Minute {
				recent = append(recent, at)
			}
		}
		if len(recent) >= 20 {
			code, msg = map[string]int{"dingtalk": 410100, "wecom": 45009}[r.vendor], "send too fast, exceed 20 times per minute"
		} else {
			r.sent[m.Token] = append(recent, now)
		}
	}
	m.ErrCode = code
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	answer(code, msg)
}

// check validates a request as the vendor documents it and fills m.
func (r *ChatReceiver) check(req *http.Request, q url.Values, body []byte, m *ChatMessage) (int, string) {
	if !strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") || !utf8.Valid(body) {
		return 40035, "content type must be application/json, body UTF-8"
	}
	r.mu.Lock()
	secret, known := r.robots[m.Token]
	r.mu.Unlock()
	if r.vendor == "wecom" {
		if !known {
			return 93000, "invalid webhook url"
		}
		var b struct {
			MsgType  string `json:"msgtype"`
			Markdown *struct {
				Content string `json:"content"`
			} `json:"markdown"`
		}
		if err := json.Unmarshal(body, &b); err != nil || b.MsgType != "markdown" || b.Markdown == nil {
			return 40008, "invalid message type"
		}
		if b.Markdown.Content == "" {
			return 44004, "empty content"
		}
		if len(b.Markdown.Content) > 4096 {
			return 40058, "markdown.content exceed max length 4096"
		}
		m.Text = b.Markdown.Content
		return 0, "ok"
	}
	if !known {
		return 300001, "token is not exist"
	}
	// 加签: sign = urlEncode(base64(HmacSHA256(secret, timestamp+"\n"+secret))),
	// timestamp in milliseconds within an hour of the robot's clock.
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err == nil {
		skew := r.Now().Sub(time.UnixMilli(ts))
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(q.Get("timestamp") + "\n" + secret))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		m.SignatureOK = skew < time.Hour && skew > -time.Hour && hmac.Equal([]byte(q.Get("sign")), []byte(want))
	}
	if !m.SignatureOK {
		return 310000, "sign not match"
	}
	var b struct {
		MsgType  string `json:"msgtype"`
		Markdown *struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
		At *struct {
			AtMobiles []string `json:"atMobiles"`
			IsAtAll   bool     `json:"isAtAll"`
		} `json:"at"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.MsgType != "markdown" || b.Markdown == nil {
		return 400105, "不支持的消息类型"
	}
	if b.Markdown.Title == "" || b.Markdown.Text == "" {
		return 400105, "markdown title and text are required"
	}
	m.Title, m.Text = b.Markdown.Title, b.Markdown.Text
	if b.At != nil {
		m.AtMobiles = b.At.AtMobiles
		for _, mobile := range b.At.AtMobiles {
			if !strings.Contains(b.Markdown.Text, "@"+mobile) {
				return 400105, "an @-mentioned mobile must appear in the text as @" + mobile
			}
		}
	}
	return 0, "ok"
}
