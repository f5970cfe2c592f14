package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

const (
	testIssuer   = "https://sso.zj.gov.cn/realms/jiaxing"
	testAudience = "spotcheck"
)

var (
	keysOnce         sync.Once
	rsaKey, rsaOther *rsa.PrivateKey
	ecKey            *ecdsa.PrivateKey
)

func testKeys(t *testing.T) {
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaOther, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jwkRSA(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64u(k.N.Bytes()), "e": b64u(big.NewInt(int64(k.E)).Bytes())}
}

func jwkEC(kid string, k *ecdsa.PublicKey) map[string]string {
	raw, err := k.Bytes() // 0x04 || x || y
	if err != nil {
		panic(err)
	}
	return map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64u(raw[1:33]), "y": b64u(raw[33:])}
}

// jwksServer serves a key set that tests may change, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []map[string]string
	hits atomic.Int32
	down atomic.Bool
}

func newJWKSServer(t *testing.T, keys ...map[string]string) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...map[string]string) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

// testNow is the last minute of a year in China, a moment that breaks
// date arithmetic done in the wrong zone; the verifier reads it through its
// clock, never the wall clock.
var testNow = time.Date(2026, time.December, 31, 15, 59, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims returns valid claims at now, with extra ones merged in (a nil
// value deletes a claim).
func claims(now time.Time, extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{"iss": testIssuer, "aud": []string{testAudience, "other"}, "sub": "zzd-10086",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "role": "admin"}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func newVerifier(t *testing.T, cfg JWTConfig) *JWTVerifier {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer, cfg.Audience = testIssuer, testAudience
	}
	v, err := NewJWTVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestJWTVerification(t *testing.T) {
	testKeys(t)
	srv := newJWKSServer(t, jwkRSA("rsa-1", &rsaKey.PublicKey), jwkEC("ec-1", &ecKey.PublicKey),
		map[string]string{"kty": "RSA", "kid": "enc-1", "use": "enc", "n": "AQAB", "e": "AQAB"})
	clk := &clock{t: testNow}
	v := newVerifier(t, JWTConfig{JWKSURL: srv.URL, Now: clk.Now})
	now := clk.Now()
	ctx := context.Background()

	p, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, nil)))
	if err != nil || p != (Principal{Subject: "zzd-10086", Role: Admin}) {
		t.Fatalf("RS256: %+v %v", p, err)
	}
	p, err = v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKey, "ec-1", claims(now, jwt.MapClaims{"role": "county_officer", "county": "330402", "department": "ignored"})))
	if err != nil || p != (Principal{Subject: "zzd-10086", Role: CountyOfficer, County: "330402"}) {
		t.Fatalf("ES256: %+v %v", p, err)
	}

	hmacSecret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))})
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa-1", claims(now, nil))
	unauthorized := []struct {
		name, token, want string
	}{
		{"expired", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, jwt.MapClaims{"exp": now.Add(-5 * time.Minute).Unix()})), "expired"},
		{"not yet valid", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, jwt.MapClaims{"nbf": now.Add(5 * time.Minute).Unix()})), "not valid yet"},
		{"no exp", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, jwt.MapClaims{"exp": nil})), "lacks a required claim"},
		{"other issuer", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, jwt.MapClaims{"iss": "https://evil.example"})), "(iss)"},
		{"no issuer", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, jwt.MapClaims{"iss": nil})), "iss"},
		{"other audience", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, jwt.MapClaims{"aud": "another-app"})), "(aud)"},
		{"alg none", none, "RS256 or ES256"},
		{"HS256 with the public key as secret", sign(t, jwt.SigningMethodHS256, hmacSecret, "rsa-1", claims(now, nil)), "RS256 or ES256"},
		{"RS384", sign(t, jwt.SigningMethodRS384, rsaKey, "rsa-1", claims(now, nil)), "RS256 or ES256"},
		{"wrong RSA key", sign(t, jwt.SigningMethodRS256, rsaOther, "rsa-1", claims(now, nil)), "signature does not verify"},
		{"RS256 naming the EC key", sign(t, jwt.SigningMethodRS256, rsaKey, "ec-1", claims(now, nil)), "P-256 key"},
		{"encryption key", sign(t, jwt.SigningMethodRS256, rsaKey, "enc-1", claims(now, nil)), `"enc-1" is not in`},
		{"no kid, two keys", sign(t, jwt.SigningMethodRS256, rsaKey, "", claims(now, nil)), "names no signing key"},
		{"no subject", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(now, jwt.MapClaims{"sub": nil})), "no subject"},
		{"garbage", "a.b.c", "malformed"},
	}
	for _, c := range unauthorized {
		_, err := v.Verify(ctx, c.token)
		if fault.KindOf(err) != fault.Unauthorized {
			t.Errorf("%s: error %v, want Unauthorized", c.name, err)
			continue
		}
		if e, _ := fault.As(err); !strings.Contains(e.Msg, c.want) {
			t.Errorf("%s: says %q, want %q", c.name, e.Msg, c.want)
		}
	}

	forbidden := []struct {
		name string
		c    jwt.MapClaims
		want string
	}{
		{"no role", jwt.MapClaims{"role": nil}, "no spotcheck role"},
		{"unknown role", jwt.MapClaims{"role": "superuser"}, "no spotcheck role"},
		{"two roles", jwt.MapClaims{"role": []string{"admin", "auditor"}}, "several spotcheck roles"},
		{"county officer without county", jwt.MapClaims{"role": "county_officer"}, "needs a county"},
		{"inspector without key", jwt.MapClaims{"role": "inspector"}, "needs an inspector key"},
	}
	for _, c := range forbidden {
		_, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKey, "ec-1", claims(now, c.c)))
		e, ok := fault.As(err)
		if !ok || e.Kind != fault.Forbidden || !strings.Contains(e.Msg, c.want) {
			t.Errorf("%s: error %v, want Forbidden saying %q", c.name, err, c.want)
		}
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("%d fetches of the key set, want 1", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A new signing key is fetched when a token names it; unknown key IDs do
// not make the server hammer the identity provider; a withdrawn key stops
// working once the set is refreshed.
func TestJWKSRotation(t *testing.T) {
	testKeys(t)
	srv := newJWKSServer(t, jwkRSA("old", &rsaKey.PublicKey))
	clk := &clock{t: testNow}
	v := newVerifier(t, JWTConfig{JWKSURL: srv.URL, Now: clk.Now})
	ctx := context.Background()
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	clk.add(refetchEvery + time.Second)
	srv.setKeys(jwkRSA("old", &rsaKey.PublicKey), jwkEC("new", &ecKey.PublicKey))
	if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKey, "new", claims(clk.Now(), nil))); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("fetches = %d, want 2", n)
	}
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKey, "random-kid", claims(clk.Now(), nil))); fault.KindOf(err) != fault.Unauthorized {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("unknown key IDs caused %d more fetches", n-2)
	}

	// The provider withdraws "old"; after keysMaxAge the set is reloaded.
	srv.setKeys(jwkEC("new", &ecKey.PublicKey))
	oldTok := func() string { return sign(t, jwt.SigningMethodRS256, rsaKey, "old", claims(clk.Now(), nil)) }
	if _, err := v.Verify(ctx, oldTok()); err != nil {
		t.Fatalf("old key within max age: %v", err)
	}
	clk.add(keysMaxAge + time.Second)
	if _, err := v.Verify(ctx, oldTok()); fault.KindOf(err) != fault.Unauthorized {
		t.Errorf("withdrawn key still accepted: %v", err)
	}

	// When the provider is down, the loaded keys keep working.
	srv.down.Store(true)
	clk.add(keysMaxAge + time.Second)
	if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodES256, ecKey, "new", claims(clk.Now(), nil))); err != nil {
		t.Errorf("provider down, cached key: %v", err)
	}
}

func TestJWKSUnavailableIsUnauthorizedAndLogged(t *testing.T) {
	testKeys(t)
	srv := newJWKSServer(t)
	srv.down.Store(true)
	v := newVerifier(t, JWTConfig{JWKSURL: srv.URL, Now: fixedClock})
	if err := v.Refresh(context.Background()); err == nil {
		t.Fatal("refresh from a failing server succeeded")
	}
	_, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, "rsa-1", claims(testNow, nil)))
	if fault.KindOf(err) != fault.Unauthorized || !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("error %v", err)
	}
}

func TestJWKSFileAndClaimMapping(t *testing.T) {
	testKeys(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "jwks.json")
	data, _ := json.Marshal(map[string]any{"keys": []any{jwkRSA("", &rsaKey.PublicKey)}})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	roles, _ := ParseRoleMap("zzd-county=county_officer,zzd-audit=auditor")
	v := newVerifier(t, JWTConfig{JWKSFile: path, RoleMap: roles, Now: fixedClock,
		Claims: ClaimNames{Subject: "userid", Role: "realm_access.roles", County: "https://zzd/org.county"}})
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := claims(testNow, jwt.MapClaims{"role": nil, "userid": 330402123, "https://zzd/org.county": "秀洲区",
		"realm_access": map[string]any{"roles": []string{"offline_access", "zzd-county"}}})
	// No kid, and the set has one key: that key.
	p, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, "", c))
	if err != nil || p != (Principal{Subject: "330402123", Role: CountyOfficer, County: "秀洲区"}) {
		t.Fatalf("%+v %v", p, err)
	}
	// Role names of spotcheck itself are not accepted when a map is set.
	c["realm_access"] = map[string]any{"roles": []string{"admin"}}
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, "", c)); fault.KindOf(err) != fault.Forbidden {
		t.Errorf("unmapped role: %v", err)
	}
}

// The Authenticator resolves a single sign-on county by code or name, and
// refuses a county this server does not have.
func TestAuthenticatorResolvesSSOScope(t *testing.T) {
	testKeys(t)
	db := testenv.DB(t)
	srv := newJWKSServer(t, jwkEC("ec-1", &ecKey.PublicKey))
	v := newVerifier(t, JWTConfig{JWKSURL: srv.URL, Now: fixedClock})
	a := NewAuthenticator(db, v)
	ctx := context.Background()
	tok := func(county string) string {
		return sign(t, jwt.SigningMethodES256, ecKey, "ec-1", claims(testNow, jwt.MapClaims{"role": "county_officer", "county": county}))
	}
	for _, county := range []string{"秀洲区", "330411"} {
		p, err := a.Authenticate(ctx, tok(county))
		if err != nil || p.County != "330411" || p.Actor() != "county_officer:zzd-10086" {
			t.Errorf("%s: %+v %v", county, p, err)
		}
	}
	for _, county := range []string{"火星区", "330400"} {
		_, err := a.Authenticate(ctx, tok(county))
		if e, ok := fault.As(err); !ok || e.Kind != fault.Forbidden || !strings.Contains(e.Msg, "the token's county") {
			t.Errorf("%s: %v", county, err)
		}
	}
}

func TestParseJWKS(t *testing.T) {
	testKeys(t)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	set := func(keys ...map[string]string) []byte {
		b, _ := json.Marshal(map[string]any{"keys": keys})
		return b
	}
	for name, data := range map[string][]byte{
		"not JSON":       []byte("<html>"),
		"empty":          set(),
		"weak RSA":       set(jwkRSA("w", &weak.PublicKey)),
		"only HS":        set(map[string]string{"kty": "oct", "k": "c2VjcmV0"}),
		"P-384 only":     set(map[string]string{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}),
		"EC off curve":   set(map[string]string{"kty": "EC", "crv": "P-256", "x": b64u(make([]byte, 32)), "y": b64u(make([]byte, 32))}),
		"RSA bad base64": set(map[string]string{"kty": "RSA", "n": "!!", "e": "AQAB"}),
	} {
		if _, err := ParseJWKS(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	keys, err := ParseJWKS(set(jwkRSA("a", &rsaKey.PublicKey), jwkEC("b", &ecKey.PublicKey), map[string]string{"kty": "OKP", "crv": "Ed25519", "x": "AA"}))
	if err != nil || len(keys) != 2 {
		t.Fatalf("%v %v", keys, err)
	}
	if k, ok := keys["b"].(*ecdsa.PublicKey); !ok || !k.Equal(&ecKey.PublicKey) {
		t.Errorf("EC key parsed as %v", keys["b"])
	}
	if k, ok := keys["a"].(*rsa.PublicKey); !ok || !k.Equal(&rsaKey.PublicKey) {
		t.Errorf("RSA key parsed as %v", keys["a"])
	}
}

func TestNewJWTVerifierNeedsIssuerAudienceAndOneSource(t *testing.T) {
	for _, c := range []JWTConfig{
		{JWKSURL: "https://x/jwks", Audience: "a"},
		{JWKSURL: "https://x/jwks", Issuer: "i"},
		{Issuer: "i", Audience: "a"},
		{JWKSURL: "https://x/jwks", JWKSFile: "/tmp/x", Issuer: "i", Audience: "a"},
	} {
		if _, err := NewJWTVerifier(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// Concurrent requests share the key cache; run with -race.
func TestJWTVerifierConcurrentUse(t *testing.T) {
	testKeys(t)
	srv := newJWKSServer(t, jwkRSA("rsa-1", &rsaKey.PublicKey), jwkEC("ec-1", &ecKey.PublicKey))
	clk := &clock{t: testNow}
	v := newVerifier(t, JWTConfig{JWKSURL: srv.URL, Now: clk.Now})
	good := sign(t, jwt.SigningMethodES256, ecKey, "ec-1", claims(clk.Now(), jwt.MapClaims{"exp": clk.Now().Add(time.Hour).Unix()}))
	unknown := sign(t, jwt.SigningMethodES256, ecKey, "nope", claims(clk.Now(), jwt.MapClaims{"exp": clk.Now().Add(time.Hour).Unix()}))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if g == 0 {
					clk.add(2 * time.Minute) // keys go stale and are refetched meanwhile
				}
				if _, err := v.Verify(context.Background(), good); err != nil {
					t.Error(err)
					return
				}
				if _, err := v.Verify(context.Background(), unknown); fault.KindOf(err) != fault.Unauthorized {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}
