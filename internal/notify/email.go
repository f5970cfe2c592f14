package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TLS modes of the email channel (setting SMTP_TLS).
const (
	TLSAuto     = "auto"     // STARTTLS when the server offers it
	TLSStartTLS = "starttls" // STARTTLS or nothing is sent
	TLSNone     = "none"     // plain text, e.g. a relay on an internal network with a self-signed certificate
)

// Email sends notifications by SMTP, as UTF-8 plain text.
type Email struct {
	// Addr is the SMTP server's host:port (setting SMTP_ADDR).
	Addr string
	// From is the sender, with an optional display name, e.g.
	// "嘉兴市自然资源和规划局 <spotcheck@example.gov.cn>" (setting SMTP_FROM).
	From string
	// Username and Password authenticate with AUTH PLAIN when Username is
	// set; the password is never sent unencrypted except to localhost.
	Username, Password string
	// TLS is TLSAuto (the zero value), TLSStartTLS or TLSNone.
	TLS string
	// TLSConfig verifies the server's certificate; nil means the system's
	// roots and the host of Addr.
	TLSConfig *tls.Config
	// Timeout bounds one message's conversation; zero means 30 seconds.
	Timeout time.Duration
}

// Send mails n to to.Address. A 5xx answer of the server is permanent (the
// mailbox or the message is refused); 4xx answers and network errors may
// succeed later.
func (e *Email) Send(ctx context.Context, to Recipient, n Notification) error {
	from, err := mail.ParseAddress(e.From)
	if err != nil {
		return Permanent(fmt.Errorf("SMTP_FROM %q is not an email address: %w", e.From, err))
	}
	rcpt, err := mail.ParseAddress(to.Address)
	if err != nil {
		return Permanent(fmt.Errorf("contact %d: %q is not an email address: %w", to.ContactID, to.Address, err))
	}
	rcpt.Name = to.Name
	msg := message(from, rcpt, to.ContactID, n, time.Now())
	if err := e.send(ctx, from.Address, rcpt.Address, msg); err != nil {
		err = fmt.Errorf("mail to %s via %s: %w", rcpt.Address, e.Addr, err)
		var pe *textproto.Error
		if errors.As(err, &pe) && pe.Code >= 500 {
			return Permanent(err)
		}
		return err
	}
	return nil
}

func (e *Email) send(ctx context.Context, from, rcpt string, msg []byte) error {
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return Permanent(fmt.Errorf("SMTP_ADDR must be host:port: %w", err))
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// Closing the connection is the only way to interrupt net/smtp.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if e.TLS != TLSNone {
		if ok, _ := c.Extension("STARTTLS"); ok {
			cfg := e.TLSConfig
			if cfg == nil {
				cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
			}
			if err := c.StartTLS(cfg); err != nil {
				return err
			}
		} else if e.TLS == TLSStartTLS {
			return Permanent(fmt.Errorf("the server does not offer STARTTLS and SMTP_TLS is %s", TLSStartTLS))
		}
	}
	if e.Username != "" {
		// PlainAuth itself refuses to send the password unencrypted to
		// anything but localhost.
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, host)); err != nil {
			var pe *textproto.Error
			if !errors.As(err, &pe) {
				return Permanent(err) // refused here, e.g. no TLS: a retry cannot help
			}
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// The message is accepted once DATA is answered; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// message renders n as an RFC 5322 message: UTF-8 plain text in base64,
// the subject as RFC 2047 encoded-words. The Message-ID is derived from the
// notification and contact, so that a duplicate sent after a lost answer
// can be recognised by mail software.
func message(from, to *mail.Address, contactID int64, n Notification, date time.Time) []byte {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", encodeAddress(from))
	header("To", encodeAddress(to))
	header("Subject", encodeText(n.Subject))
	header("Date", date.Format(time.RFC1123Z))
	sum := sha256.Sum256([]byte(n.ID + "\x00" + strconv.FormatInt(contactID, 10)))
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	header("Message-ID", "<"+hex.EncodeToString(sum[:16])+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	header("Content-Transfer-Encoding", "base64")
	header(DeliveryHeader, n.ID)
	b.WriteString("\r\n")
	text := strings.ReplaceAll(strings.ReplaceAll(n.Body, "\r\n", "\n"), "\n", "\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(text))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc + "\r\n")
	}
	return b.Bytes()
}

// wordBytes is the most UTF-8 text in one encoded-word: 36 bytes (12
// Chinese characters) make a 60-character word, so that a folded line with
// the longest header name used here stays under RFC 2047's 76 characters.
const wordBytes = 36

// encodeText encodes header text per RFC 2047 (B encoding, UTF-8), one
// encoded-word per folded line. Plain ASCII text is left as it is.
func encodeText(s string) string {
	if isPlainASCII(s) {
		return s
	}
	var words []string
	for len(s) > 0 {
		n := 0
		for _, r := range s {
			l := utf8.RuneLen(r)
			if n+l > wordBytes && n > 0 {
				break
			}
			n += l
		}
		words = append(words, "=?UTF-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

// encodeAddress renders a mailbox with its display name encoded per RFC 2047
// and the address on a line of its own.
func encodeAddress(a *mail.Address) string {
	if a.Name == "" || isPlainASCII(a.Name) {
		return a.String()
	}
	return encodeText(a.Name) + "\r\n <" + a.Address + ">"
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return len(s) <= 60
}
