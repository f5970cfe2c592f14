package web_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/web"
)

// provider is a stand-in OpenID Connect provider (浙政钉 is outside our
// system): discovery, JWKS, an authorization endpoint that signs the
// person in at once, and a token endpoint that checks the PKCE verifier
// against the challenge before it issues an RS256 ID token.
type provider struct {
	*httptest.Server
	key    *rsa.PrivateKey
	claims map[string]any
	mu     sync.Mutex
	codes  map[string][2]string // code: challenge, nonce
	// refusedVerifier counts token requests whose verifier did not match.
	refusedVerifier int
}

func startProvider(t *testing.T, claims map[string]any) *provider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{key: key, claims: claims, codes: map[string][2]string{}}
	b64 := base64.RawURLEncoding.EncodeToString
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize",
			"token_endpoint": p.URL + "/token", "jwks_uri": p.URL + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
			"code_challenge_methods_supported": []string{"S256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("client_id") != "spotcheck-console" {
			http.Redirect(w, r, q.Get("redirect_uri")+"?error=invalid_request&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
			return
		}
		code := "code-" + q.Get("state")[:8]
		p.mu.Lock()
		p.codes[code] = [2]string{q.Get("code_challenge"), q.Get("nonce")}
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		c, ok := p.codes[r.PostForm.Get("code")]
		delete(p.codes, r.PostForm.Get("code"))
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || b64(sum[:]) != c[0] {
			p.mu.Lock()
			p.refusedVerifier++
			p.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		claims := map[string]any{"iss": p.URL, "aud": "spotcheck-console", "iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix(), "nonce": c[1]}
		for k, v := range p.claims {
			claims[k] = v
		}
		hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
		body, _ := json.Marshal(claims)
		signing := b64(hdr) + "." + b64(body)
		h := sha256.Sum256([]byte(signing))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": signing + "." + b64(sig)})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// TestConsoleSingleSignOn signs a county officer in through the stand-in
// provider: authorization code with PKCE, the ID token's claims mapped to
// the role and county the way the JWT settings map them, a session of
// that principal; a callback that this browser did not start is refused.
func TestConsoleSingleSignOn(t *testing.T) {
	idp := startProvider(t, map[string]any{"sub": "zzd-10086", "name": "王科长", "groups": []string{"jx-county"}, "region": "南湖区"})
	s := consoleSystem(t, func(c *web.Console) *web.Console {
		o, err := web.NewOIDC(context.Background(), web.OIDCConfig{Issuer: idp.URL, ClientID: "spotcheck-console", ClientSecret: "s3cret",
			RedirectURL: "/console/sso/callback", Claims: auth.ClaimNames{Role: "groups", County: "region"},
			RoleMap: map[string]auth.Role{"jx-county": auth.CountyOfficer}})
		if err != nil {
			t.Fatal(err)
		}
		return c.WithOIDC(o)
	})
	// The sign-in page offers it; following the redirects signs in.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		resp, err := browser.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if _, page := get("/console/signin"); !strings.Contains(page, "使用统一身份认证登录") {
		t.Error("the sign-in page does not offer single sign-on")
	}
	code, page := get("/console/sso?next=/console/")
	if code != http.StatusOK || !strings.Contains(page, "王科长（sso-") || !strings.Contains(page, "县（市、区）局人员") {
		t.Fatalf("after single sign-on: %d %.600s", code, page)
	}
	var county, method string
	if err := s.db.QueryRow(`SELECT u.county_code, s.method FROM users u JOIN sessions s ON s.user_id = u.id WHERE u.oidc_subject = 'zzd-10086'`).Scan(&county, &method); err != nil || county != "330402" || method != "oidc" {
		t.Errorf("account of the provider's user: county %q, session %q, %v", county, method, err)
	}
	// A county officer's session sees their county only: the API decides.
	if code, _ := get("/console/users"); code != http.StatusForbidden {
		t.Errorf("county officer on the users page: %d", code)
	}
	// A callback with a state this browser never got is refused, and the
	// provider never saw a wrong verifier from the console.
	other := &http.Client{}
	resp, err := other.Get(s.url + "/console/sso/callback?code=code-forged00&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged callback: %d", resp.StatusCode)
	}
	if idp.refusedVerifier != 0 {
		t.Errorf("the provider refused %d PKCE verifiers", idp.refusedVerifier)
	}
}
