package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// OIDC is single sign-on by OpenID Connect (authorization code with
// PKCE); see NewOIDC.
type OIDC struct{}

func (k *Console) ssoStart(c *gin.Context) {
	if k.oidc == nil {
		k.page(c, http.StatusNotFound, "error", consoleTitles[404], nil, errorPage{Status: 404, Message: "本系统未配置统一身份认证（单点登录）。"})
		return
	}
}

func (k *Console) ssoCallback(c *gin.Context) {
	k.ssoStart(c)
}
