package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/notify/notifytest"
)

func sample() notify.Notification {
	return notify.Notification{
		ID:         "reminder/batch/2026-03/county/330402/result-due/5d",
		Kind:       notify.KindReminder,
		RegionCode: "330402",
		Role:       notify.RoleCountyOfficer,
		Subject:    "【双随机】南湖区：2026年第3批次抽查结果录入将于5个工作日后到期（截止2026-10-21）",
		Body:       "南湖区分局：\n\n2026年第3批次抽查任务的检查结果应于2026年10月21日前录入系统。\n尚有12家检查对象未录入结果。\n\n嘉兴市自然资源和规划局",
		Payload:    map[string]any{"batch_id": "2026-03", "due": "2026-10-21", "missing": 12},
	}
}

func TestWebhookSignsAndPosts(t *testing.T) {
	const secret = "contact-secret-0123456789"
	rcv := notifytest.StartReceiver(t, secret)
	w := &notify.Webhook{Secret: "the-configured-secret-xyz"}
	n := sample()
	if err := w.Send(context.Background(), notify.Recipient{ContactID: 7, Channel: "webhook", Address: rcv.URL + "/hook?token=abc", Secret: secret}, n); err != nil {
		t.Fatal(err)
	}
	reqs := rcv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if !r.SignatureOK {
		t.Errorf("signature %q does not verify", r.Header.Get("X-Spotcheck-Signature"))
	}
	if r.Header.Get("X-Spotcheck-Delivery") != n.ID || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", r.Header)
	}
	var body notify.WebhookBody
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.ID != n.ID || body.Subject != n.Subject || body.Body != n.Body || body.ContactID != 7 || body.Payload["due"] != "2026-10-21" {
		t.Errorf("body %+v", body)
	}

	// A contact without a secret of its own is signed with the configured one.
	rcv2 := notifytest.StartReceiver(t, "the-configured-secret-xyz")
	if err := w.Send(context.Background(), notify.Recipient{ContactID: 8, Address: rcv2.URL}, n); err != nil {
		t.Fatal(err)
	}
	if !rcv2.Requests()[0].SignatureOK {
		t.Error("configured secret not used")
	}
	// With neither, nothing is sent unsigned.
	err := (&notify.Webhook{}).Send(context.Background(), notify.Recipient{ContactID: 9, Address: rcv2.URL}, n)
	if !notify.IsPermanent(err) || len(rcv2.Requests()) != 1 {
		t.Errorf("no secret at all: %v, %d requests", err, len(rcv2.Requests()))
	}
	// Signed with the wrong key, the receiver refuses: a permanent failure.
	err = (&notify.Webhook{Secret: "some-other-secret-000"}).Send(context.Background(), notify.Recipient{ContactID: 9, Address: rcv2.URL}, n)
	if !notify.IsPermanent(err) {
		t.Errorf("wrong signature: %v", err)
	}
}

func TestWebhookStatusClasses(t *testing.T) {
	const secret = "0123456789abcdef"
	rcv := notifytest.StartReceiver(t, secret)
	w := &notify.Webhook{Secret: secret}
	to := notify.Recipient{ContactID: 1, Address: rcv.URL + "/x?token=hunter2"}
	cases := []struct {
		status    int
		ok        bool
		permanent bool
	}{
		{200, true, false}, {202, true, false}, {204, true, false},
		{400, false, true}, {401, false, true}, {404, false, true}, {410, false, true},
		{408, false, false}, {429, false, false},
		{500, false, false}, {502, false, false}, {503, false, false},
		{302, false, false},
	}
	for _, c := range cases {
		rcv.Respond(c.status)
		err := w.Send(context.Background(), to, sample())
		if (err == nil) != c.ok || notify.IsPermanent(err) != c.permanent {
			t.Errorf("answer %d: error %v, permanent %v; want ok %v, permanent %v", c.status, err, notify.IsPermanent(err), c.ok, c.permanent)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("answer %d: error %q shows the URL's query", c.status, err)
		}
	}
}

func TestWebhookNetworkErrorIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	err = (&notify.Webhook{Secret: "0123456789abcdef"}).Send(context.Background(), notify.Recipient{Address: "http://" + addr + "/?k=secret"}, sample())
	if err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), "k=secret") {
		t.Errorf("connection refused: %v", err)
	}
	// A receiver slower than the client's patience is a retryable timeout.
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) })}
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	go slow.Serve(ln2) //nolint:errcheck
	defer slow.Close()
	client := &http.Client{Timeout: 200 * time.Millisecond}
	err = (&notify.Webhook{Client: client, Secret: "0123456789abcdef"}).Send(context.Background(), notify.Recipient{Address: "http://" + ln2.Addr().String()}, sample())
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("timeout: %v", err)
	}
}

// decodeMail parses a message the way a mail client would.
func decodeMail(t *testing.T, data []byte) (*mail.Message, string, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Content-Transfer-Encoding") != "base64" {
		t.Fatalf("transfer encoding %q", m.Header.Get("Content-Transfer-Encoding"))
	}
	body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, m.Body))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(data, []byte("\r\n")) {
		if len(line) > 78 {
			t.Errorf("line %d is %d bytes long: %q", i+1, len(line), line)
		}
	}
	return m, subject, string(body)
}

func TestEmailOverSMTP(t *testing.T) {
	srv := notifytest.StartSMTP(t, "", "")
	e := &notify.Email{Addr: srv.Addr, From: "嘉兴市自然资源和规划局 <spotcheck@zrzyj.jiaxing.gov.cn>"}
	n := sample()
	to := notify.Recipient{ContactID: 3, Name: "王科长", Channel: "email", Address: "wang@nanhu.example.gov.cn"}
	if err := e.Send(context.Background(), to, n); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	got := mails[0]
	if got.From != "spotcheck@zrzyj.jiaxing.gov.cn" || len(got.To) != 1 || got.To[0] != "wang@nanhu.example.gov.cn" {
		t.Errorf("envelope %s -> %v", got.From, got.To)
	}
	m, subject, body := decodeMail(t, got.Data)
	if subject != n.Subject {
		t.Errorf("subject %q, want %q", subject, n.Subject)
	}
	if !strings.HasPrefix(m.Header.Get("Subject"), "=?UTF-8?b?") {
		t.Errorf("raw subject %q is not RFC 2047", m.Header.Get("Subject"))
	}
	if body != strings.ReplaceAll(n.Body, "\n", "\r\n") {
		t.Errorf("body %q", body)
	}
	from, err := m.Header.AddressList("From")
	if err != nil || from[0].Name != "嘉兴市自然资源和规划局" {
		t.Errorf("From %v, %v", from, err)
	}
	toHdr, err := m.Header.AddressList("To")
	if err != nil || toHdr[0].Name != "王科长" || toHdr[0].Address != to.Address {
		t.Errorf("To %v, %v", toHdr, err)
	}
	if m.Header.Get("X-Spotcheck-Delivery") != n.ID || !strings.HasSuffix(m.Header.Get("Message-ID"), "@zrzyj.jiaxing.gov.cn>") {
		t.Errorf("headers %v", m.Header)
	}
	if ct := m.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	// The same notification to the same contact gets the same Message-ID.
	if err := e.Send(context.Background(), to, n); err != nil {
		t.Fatal(err)
	}
	m2, _, _ := decodeMail(t, srv.Mails()[1].Data)
	if m2.Header.Get("Message-ID") != m.Header.Get("Message-ID") {
		t.Error("Message-ID differs between sends of one delivery")
	}
}

func TestEmailErrors(t *testing.T) {
	srv := notifytest.StartSMTP(t, "", "")
	e := &notify.Email{Addr: srv.Addr, From: "spotcheck@example.gov.cn"}
	to := notify.Recipient{ContactID: 3, Address: "nobody@example.gov.cn"}

	srv.FailRcpt(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"})
	if err := e.Send(context.Background(), to, sample()); !notify.IsPermanent(err) || !strings.Contains(err.Error(), "no such mailbox") {
		t.Errorf("550: %v", err)
	}
	srv.FailRcpt(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"})
	if err := e.Send(context.Background(), to, sample()); err == nil || notify.IsPermanent(err) {
		t.Errorf("451: %v", err)
	}
	if len(srv.Mails()) != 0 {
		t.Errorf("refused mail was accepted")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()
	if err := (&notify.Email{Addr: down, From: "spotcheck@example.gov.cn"}).Send(context.Background(), to, sample()); err == nil || notify.IsPermanent(err) {
		t.Errorf("server down: %v", err)
	}
	if err := (&notify.Email{Addr: srv.Addr, From: "not an address"}).Send(context.Background(), to, sample()); !notify.IsPermanent(err) {
		t.Errorf("bad From: %v", err)
	}
	if err := (&notify.Email{Addr: srv.Addr, From: "spotcheck@example.gov.cn", TLS: notify.TLSStartTLS}).Send(context.Background(), to, sample()); !notify.IsPermanent(err) {
		t.Errorf("STARTTLS required but not offered: %v", err)
	}
	// A server that never answers is given up on when the context ends.
	silent, _ := net.Listen("tcp", "127.0.0.1:0")
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := (&notify.Email{Addr: silent.Addr().String(), From: "spotcheck@example.gov.cn"}).Send(ctx, to, sample())
	if err == nil || notify.IsPermanent(err) || time.Since(start) > 5*time.Second {
		t.Errorf("silent server: %v after %v", err, time.Since(start))
	}
}

func TestEmailAuth(t *testing.T) {
	srv := notifytest.StartSMTP(t, "spotcheck", "s3cret")
	to := notify.Recipient{ContactID: 3, Address: "li@example.gov.cn"}
	// PlainAuth sends the password unencrypted only to localhost.
	addr := strings.Replace(srv.Addr, "127.0.0.1", "localhost", 1)
	if err := (&notify.Email{Addr: addr, From: "spotcheck@example.gov.cn"}).Send(context.Background(), to, sample()); err == nil {
		t.Error("unauthenticated mail accepted")
	}
	if err := (&notify.Email{Addr: addr, From: "spotcheck@example.gov.cn", Username: "spotcheck", Password: "wrong"}).Send(context.Background(), to, sample()); !notify.IsPermanent(err) {
		t.Errorf("bad password: %v", err)
	}
	if err := (&notify.Email{Addr: addr, From: "spotcheck@example.gov.cn", Username: "spotcheck", Password: "s3cret"}).Send(context.Background(), to, sample()); err != nil {
		t.Fatal(err)
	}
	if len(srv.Mails()) != 1 {
		t.Errorf("%d mails", len(srv.Mails()))
	}
}

func TestLogChannel(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := &notify.Log{Logger: zap.New(core)}
	if err := l.Send(context.Background(), notify.Recipient{ContactID: 4, Address: "ops-dashboard"}, sample()); err != nil {
		t.Fatal(err)
	}
	entries := logs.FilterMessage("notification").All()
	if len(entries) != 1 || entries[0].ContextMap()["notification_id"] != sample().ID || entries[0].ContextMap()["contact"] != "ops-dashboard" {
		t.Errorf("log entries %+v", entries)
	}
}

func TestNotificationValidate(t *testing.T) {
	if err := sample().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := notify.Notification{ID: "has space", Kind: "Reminder", Role: "mayor", Subject: "a\nb"}
	err := bad.Validate()
	for _, field := range []string{"id", "kind", "region_code", "role", "subject"} {
		if !strings.Contains(err.Error(), field+":") {
			t.Errorf("%v does not name %s", err, field)
		}
	}
	var pe *notify.PermanentError
	if !errors.As(notify.Permanent(io.EOF), &pe) || notify.Permanent(nil) != nil || notify.IsPermanent(io.EOF) {
		t.Error("Permanent")
	}
}
