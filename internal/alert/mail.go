package alert

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/hubtrack/hub/internal/config"
)

// Mailer sends one plain-text e-mail.
type Mailer interface {
	Send(ctx context.Context, to []string, subject, body string) error
}

// SMTP sends through the operator's mail server (config.SMTP) with net/smtp: implicit TLS on
// port 465, else STARTTLS whenever the server offers it; AUTH PLAIN with the user, which net/smtp
// refuses to send unencrypted except to localhost. Errors never carry the password.
type SMTP struct {
	Config config.SMTP
	// Timeout bounds the whole exchange (default 30 s).
	Timeout time.Duration
	// TLS, when set, replaces the TLS settings (tests trust their own certificate).
	TLS *tls.Config
}

// ErrNoRecipient is returned when an e-mail has no one to go to.
var ErrNoRecipient = errors.New("alert: e-mail without a recipient")

// Send implements Mailer.
func (m *SMTP) Send(ctx context.Context, to []string, subject, body string) error {
	if len(to) == 0 {
		return ErrNoRecipient
	}
	c := m.Config
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return fmt.Errorf("alert: smtp: the sender address: %w", err)
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	tc := m.TLS
	if tc == nil {
		tc = &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("alert: smtp: connect to %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if c.Port == 465 {
		conn = tls.Client(conn, tc)
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("alert: smtp: greeting of %s: %w", addr, err)
	}
	defer cl.Close()
	if err := cl.Hello("hub"); err != nil {
		return fmt.Errorf("alert: smtp: EHLO: %w", err)
	}
	if ok, _ := cl.Extension("STARTTLS"); ok && c.Port != 465 {
		if err := cl.StartTLS(tc); err != nil {
			return fmt.Errorf("alert: smtp: STARTTLS: %w", err)
		}
	}
	if c.User != "" {
		if ok, _ := cl.Extension("AUTH"); ok {
			if err := cl.Auth(smtp.PlainAuth("", c.User, c.Password, c.Host)); err != nil {
				return fmt.Errorf("alert: smtp: AUTH as %s: %w", c.User, scrub(err, c.Password))
			}
		}
	}
	if err := cl.Mail(from.Address); err != nil {
		return fmt.Errorf("alert: smtp: MAIL FROM: %w", err)
	}
	for _, r := range to {
		if err := cl.Rcpt(r); err != nil {
			return fmt.Errorf("alert: smtp: RCPT TO: %w", err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("alert: smtp: DATA: %w", err)
	}
	if _, err := w.Write(message(from, to, subject, body, time.Now())); err != nil {
		return fmt.Errorf("alert: smtp: write the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("alert: smtp: end of message: %w", err)
	}
	return cl.Quit()
}

// scrub removes a secret from an error's text (a server echoing what it was sent).
func scrub(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[hidden]"))
}

// message is the RFC 5322 message: UTF-8 text, quoted-printable, the subject encoded per RFC
// 2047. Header values come from Hub (addresses parsed, subject without line breaks).
func message(from *mail.Address, to []string, subject, body string, now time.Time) []byte {
	var id [12]byte
	_, _ = rand.Read(id[:])
	domain := "hub"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 {
		domain = from.Address[i+1:]
	}
	subject = strings.NewReplacer("\r", " ", "\n", " ").Replace(subject)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id[:]), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}
