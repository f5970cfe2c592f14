// Package notifytest runs real receivers for tests of notifications: an SMTP
// server (github.com/emersion/go-smtp) and an HTTP webhook receiver that
// checks signatures, both on loopback ports and stopped when the test ends.
package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

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
