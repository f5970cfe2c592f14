package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// OIDCConfig is the console's single sign-on: an OpenID Connect provider
// (浙政钉 or any other), this console's client there, and how the ID
// token's claims map to a principal (the JWT_* settings of the API).
type OIDCConfig struct {
	Issuer, ClientID, ClientSecret string
	// RedirectURL is this console's /console/sso/callback as the provider
	// knows it; a path alone is taken on the host the browser asked.
	RedirectURL string
	Claims      auth.ClaimNames
	RoleMap     map[string]auth.Role
}

// OIDC is single sign-on by the authorization code flow with PKCE (RFC
// 7636, S256): the code is bound to a verifier only this browser's cookie
// holds, the ID token to a nonce, the callback to a state.
type OIDC struct {
	cfg      OIDCConfig
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// NewOIDC discovers the provider (its /.well-known/openid-configuration).
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("single sign-on provider %s: %w", cfg.Issuer, err)
	}
	return &OIDC{cfg: cfg, verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile"}}}, nil
}

// ssoCookie holds the state, PKCE verifier, nonce and where to go after,
// for the ten minutes a sign-in at the provider may take.
const ssoCookie = "spotcheck_sso"

// config is the OAuth 2.0 client for this request: with its redirect URL
// on the request's host when only a path is configured.
func (o *OIDC) config(c *gin.Context) *oauth2.Config {
	cfg := o.oauth
	if strings.HasPrefix(cfg.RedirectURL, "/") {
		scheme := "http"
		if c.Request.TLS != nil {
			scheme = "https"
		}
		cfg.RedirectURL = scheme + "://" + c.Request.Host + cfg.RedirectURL
	}
	return &cfg
}

func (k *Console) ssoStart(c *gin.Context) {
	if k.oidc == nil {
		k.page(c, http.StatusNotFound, "error", consoleTitles[404], nil, errorPage{Status: 404, Message: "本系统未配置统一身份认证（单点登录）。"})
		return
	}
	state, nonce, verifier := newNonce(), newNonce(), oauth2.GenerateVerifier()
	http.SetCookie(c.Writer, &http.Cookie{Name: ssoCookie, Value: strings.Join([]string{state, verifier, nonce, safeNext(c.Query("next"))}, "|"),
		Path: cookiePath, MaxAge: 600, HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteLaxMode})
	c.Redirect(http.StatusFound, k.oidc.config(c).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
}

func (k *Console) ssoCallback(c *gin.Context) {
	if k.oidc == nil {
		k.ssoStart(c)
		return
	}
	refuse := func(msg string) {
		k.showSignin(c, http.StatusUnauthorized, "", "", msg)
	}
	raw, _ := c.Cookie(ssoCookie)
	k.clearCookie(c, ssoCookie)
	parts := strings.Split(raw, "|")
	if len(parts) != 4 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(c.Query("state"))) != 1 {
		refuse("统一身份认证登录已失效或不是从本系统发起的，请重新登录。")
		return
	}
	if e := c.Query("error"); e != "" {
		refuse("统一身份认证未通过（" + e + "），请重新登录或联系系统管理员。")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 15*time.Second)
	defer cancel()
	tok, err := k.oidc.config(c).Exchange(ctx, c.Query("code"), oauth2.VerifierOption(parts[1]))
	if err != nil {
		k.log.Warn("single sign-on: code exchange refused", zap.Error(err))
		refuse("统一身份认证未能完成（授权码无效或已过期），请重新登录。")
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := k.oidc.verifier.Verify(ctx, rawID)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(parts[2])) != 1 {
		k.log.Warn("single sign-on: ID token refused", zap.Error(err))
		refuse("统一身份认证返回的身份令牌无效，请重新登录。")
		return
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		k.fail(c, err)
		return
	}
	p, err := auth.PrincipalOf(claims, k.oidc.cfg.Claims, k.oidc.cfg.RoleMap)
	var name string
	if n, ok := claims["name"].(string); ok {
		name = n
	}
	var sess auth.Session
	var token string
	if err == nil {
		sess, token, err = k.sessions.SignInSSO(c.Request.Context(), k.oidc.cfg.Issuer, p, name, auth.Client{Addr: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	}
	if err != nil {
		if k := fault.KindOf(err); k == fault.Forbidden || k == fault.Unauthorized {
			refuse("统一身份认证的账户在本系统没有可用的角色或范围，请联系系统管理员。")
			return
		}
		k.fail(c, err)
		return
	}
	k.openSession(c, sess, token)
	c.Redirect(http.StatusSeeOther, parts[3])
}
