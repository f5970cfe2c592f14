package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

type signinPage struct {
	CSRF     string
	Next     string
	Username string
	Message  string
	SSO      bool
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/console/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return "/console/"
	}
	return s
}

func newNonce() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// signinForm shows the form with a fresh CSRF token, also set as a cookie
// (double submit: there is no session yet to hold it).
func (k *Console) signinForm(c *gin.Context) {
	k.showSignin(c, http.StatusOK, c.Query("next"), "", "")
}

func (k *Console) showSignin(c *gin.Context, status int, next, username, msg string) {
	token := newNonce()
	k.setCookie(c, signinCookie, token, 3600)
	k.page(c, status, "signin", "登录", []Crumb{{Name: "登录"}}, signinPage{CSRF: token, Next: safeNext(next), Username: username, Message: msg, SSO: k.oidc != nil})
}

func (k *Console) signin(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 16<<10)
	want, _ := c.Cookie(signinCookie)
	got := c.PostForm("csrf")
	next, username := c.PostForm("next"), strings.TrimSpace(c.PostForm("username"))
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		k.showSignin(c, http.StatusForbidden, next, username, "登录表单已失效（缺少或不符的防伪令牌），请重新输入后登录。")
		return
	}
	sess, token, err := k.sessions.SignIn(c.Request.Context(), username, c.PostForm("password"),
		auth.Client{Addr: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	if err != nil {
		if fault.KindOf(err) != fault.Unauthorized {
			k.fail(c, err)
			return
		}
		msg := "用户名或密码不正确。连续 5 次输错，账户将锁定 15 分钟。"
		e, _ := fault.As(err)
		locked, isLocked := e.Details.(auth.ErrLocked)
		switch {
		case isLocked:
			msg = "该账户因连续 5 次登录失败已被锁定，请于 " + locked.Until.In(disclosure.China).Format("15:04") + " 后再试，或请系统管理员协助。"
		case strings.Contains(e.Msg, "disabled"):
			msg = "该账户已停用，请联系系统管理员。"
		}
		k.showSignin(c, http.StatusUnauthorized, next, username, msg)
		return
	}
	k.clearCookie(c, signinCookie)
	k.openSession(c, sess, token)
	c.Redirect(http.StatusSeeOther, safeNext(next))
}

// openSession sets the session cookie of a session opened now: its life
// is the absolute timeout; the idle timeout is the server's.
func (k *Console) openSession(c *gin.Context, _ auth.Session, token string) {
	k.setCookie(c, sessionCookie, token, int(k.sessions.Policy().Absolute.Seconds()))
}

func (k *Console) signout(c *gin.Context) {
	if err := k.sessions.End(c.Request.Context(), c.GetString("console.token")); err != nil {
		k.fail(c, err)
		return
	}
	k.clearCookie(c, sessionCookie)
	c.Redirect(http.StatusSeeOther, "/console/signin?done="+"已退出登录")
}
