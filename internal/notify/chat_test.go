package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/notify/notifytest"
)

// clock is a fixed instant that tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newClock() *clock {
	return &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
}

const (
	robotToken  = "7f3c0d4e9a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef01234567"
	robotSecret = "SEC4f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4e5f60718293a4b5c6d7e8f"
)

func TestDingTalkSignsMarkdownAndMentions(t *testing.T) {
	clk := newClock()
	rcv := notifytest.StartDingTalk(t, clk.now)
	rcv.AddRobot(robotToken, robotSecret)
	d := &notify.DingTalk{BaseURL: rcv.URL, Now: clk.now}
	to := notify.Recipient{ContactID: 3, Channel: notify.ChannelDingTalk, Address: robotToken, Secret: robotSecret, Mobile: "13800000001"}
	if err := d.Send(context.Background(), to, sample()); err != nil {
		t.Fatal(err)
	}
	msgs := rcv.Accepted()
	if len(msgs) != 1 {
		t.Fatalf("accepted %d messages: %+v", len(msgs), rcv.Messages())
	}
	m := msgs[0]
	if !m.SignatureOK || m.Title != sample().Subject || !strings.Contains(m.Text, "尚有12家检查对象未录入结果") ||
		!strings.Contains(m.Text, "@13800000001") || len(m.AtMobiles) != 1 || m.AtMobiles[0] != "13800000001" {
		t.Errorf("message %+v", m)
	}
	// Line breaks survive DingTalk's markdown.
	if !strings.Contains(m.Text, "录入系统。  \n尚有") {
		t.Errorf("text %q keeps no hard line breaks", m.Text)
	}
}

func TestDingTalkSignatureVector(t *testing.T) {
	// HMAC-SHA256 of "1700000000000\nSECtest" keyed "SECtest", base64:
	// computed with `printf '1700000000000\nSECtest' | openssl dgst -sha256 -hmac SECtest -binary | base64`.
	if got := notify.DingTalkSign(1700000000000, "SECtest"); got != dingTalkVector {
		t.Errorf("sign %s, want %s", got, dingTalkVector)
	}
}

func TestDingTalkErrorCodes(t *testing.T) {
	clk := newClock()
	rcv := notifytest.StartDingTalk(t, clk.now)
	rcv.AddRobot(robotToken, robotSecret)
	d := &notify.DingTalk{BaseURL: rcv.URL, Now: clk.now}
	to := notify.Recipient{ContactID: 3, Address: robotToken, Secret: robotSecret}
	ctx := context.Background()

	// A wrong secret: 310000, permanent, and the token never shows in the error.
	err := d.Send(ctx, notify.Recipient{ContactID: 3, Address: robotToken, Secret: "SECwrong-secret-0123456789"}, sample())
	if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "310000") || strings.Contains(err.Error(), robotToken) {
		t.Errorf("wrong secret: %v", err)
	}
	// A clock an hour and more off: the robot refuses the signature.
	late := &notify.DingTalk{BaseURL: rcv.URL, Now: func() time.Time { return clk.t.Add(-2 * time.Hour) }}
	if err := late.Send(ctx, to, sample()); err == nil || !notify.IsPermanent(err) {
		t.Errorf("stale timestamp: %v", err)
	}
	// An unknown robot: permanent.
	if err := d.Send(ctx, notify.Recipient{ContactID: 3, Address: "unknown-token-123", Secret: robotSecret}, sample()); err == nil || !notify.IsPermanent(err) {
		t.Errorf("unknown token: %v", err)
	}
	// Busy and too fast: retryable.
	rcv.Answer(-1, 410100)
	for _, code := range []string{"-1", "410100"} {
		if err := d.Send(ctx, to, sample()); err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "errcode "+code) {
			t.Errorf("errcode %s: %v", code, err)
		}
	}
	// Content refused: permanent.
	rcv.Answer(430104)
	if err := d.Send(ctx, to, sample()); err == nil || !notify.IsPermanent(err) {
		t.Errorf("errcode 430104: %v", err)
	}
	for _, m := range rcv.Messages() {
		if m.Token == robotToken && m.ErrCode != 310000 && !m.SignatureOK {
			t.Errorf("unsigned request %+v", m)
		}
	}
}

func TestDingTalkRateLimitIsRetryable(t *testing.T) {
	clk := newClock()
	rcv := notifytest.StartDingTalk(t, clk.now)
	rcv.AddRobot(robotToken, robotSecret)
	to := notify.Recipient{ContactID: 3, Address: robotToken, Secret: robotSecret}
	ctx := context.Background()
	// Twenty messages from other workers in this minute (each sender paces
	// itself, not the others).
	for i := 0; i < 20; i++ {
		d := &notify.DingTalk{BaseURL: rcv.URL, Now: clk.now}
		if err := d.Send(ctx, to, sample()); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	d := &notify.DingTalk{BaseURL: rcv.URL, Now: clk.now}
	err := d.Send(ctx, to, sample())
	if err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "410100") {
		t.Fatalf("21st message in a minute: %v, want a retryable 410100", err)
	}
	clk.t = clk.t.Add(time.Minute)
	if err := d.Send(ctx, to, sample()); err != nil {
		t.Errorf("a minute later: %v", err)
	}
}

func TestDingTalkPacesItself(t *testing.T) {
	clk := newClock()
	rcv := notifytest.StartDingTalk(t, clk.now)
	rcv.AddRobot(robotToken, robotSecret)
	d := &notify.DingTalk{BaseURL: rcv.URL, Now: clk.now}
	to := notify.Recipient{ContactID: 3, Address: robotToken, Secret: robotSecret}
	for i := 0; i < 20; i++ {
		if err := d.Send(context.Background(), to, sample()); err != nil {
			t.Fatal(err)
		}
	}
	// The 21st would wait about three seconds for the robot's limit: more
	// than this send may take, so it is left to a later attempt without
	// reaching the robot.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := d.Send(ctx, to, sample())
	if err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "rate limit") {
		t.Errorf("21st: %v", err)
	}
	if n := len(rcv.Messages()); n != 20 {
		t.Errorf("the robot got %d messages, want 20", n)
	}
}

func TestWeComMarkdown(t *testing.T) {
	clk := newClock()
	rcv := notifytest.StartWeCom(t, clk.now)
	const key = "693a91f6-7b2c-4bc4-97a0-0ec2a1fa5aaa"
	rcv.AddRobot(key, "")
	w := &notify.WeCom{BaseURL: rcv.URL}
	ctx := context.Background()
	if err := w.Send(ctx, notify.Recipient{ContactID: 4, Address: key}, sample()); err != nil {
		t.Fatal(err)
	}
	// A body beyond the robot's 4096 bytes is cut at a line.
	long := sample()
	long.Body = strings.Repeat("嘉兴市某某建材有限公司（到期 2026-12-07）\n", 200)
	if err := w.Send(ctx, notify.Recipient{ContactID: 4, Address: key}, long); err != nil {
		t.Fatal(err)
	}
	msgs := rcv.Accepted()
	if len(msgs) != 2 || !strings.HasPrefix(msgs[0].Text, "### "+sample().Subject+"\n") || !strings.Contains(msgs[0].Text, "尚有12家") {
		t.Fatalf("messages %+v", rcv.Messages())
	}
	if len(msgs[1].Text) > notify.WeComMaxContent || !strings.HasSuffix(msgs[1].Text, "请登录系统查看）") {
		t.Errorf("long message: %d bytes, ends %q", len(msgs[1].Text), msgs[1].Text[len(msgs[1].Text)-40:])
	}
	if err := w.Send(ctx, notify.Recipient{ContactID: 4, Address: "wrong-key-0000"}, sample()); err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "93000") {
		t.Errorf("wrong key: %v", err)
	}
	rcv.Answer(45009)
	if err := w.Send(ctx, notify.Recipient{ContactID: 4, Address: key}, sample()); err == nil || notify.IsPermanent(err) {
		t.Errorf("45009: %v, want retryable", err)
	}
}

const dingTalkVector = "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g="
