package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

// JWTConfig configures single sign-on: where the signing keys are, what a
// token must say about itself, and which claims carry the principal.
type JWTConfig struct {
	// JWKSURL or JWKSFile (exactly one) holds the JSON Web Key Set.
	JWKSURL  string
	JWKSFile string
	// Issuer and Audience are required: a token's iss must equal Issuer and
	// its aud must contain Audience.
	Issuer   string
	Audience string
	Claims   ClaimNames
	// RoleMap maps the identity provider's role values to roles; nil means
	// the values are role names already.
	RoleMap map[string]Role
	// Leeway absorbs clock skew in exp and nbf; zero means one minute.
	Leeway time.Duration
	// HTTPClient fetches JWKSURL; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ClaimNames names the claims that carry the principal. A name is looked
// up as a whole first, then as a dotted path into nested objects
// ("realm_access.roles"). Empty names take the defaults: sub, role,
// county, department, inspector.
type ClaimNames struct {
	Subject, Role, County, Department, Inspector string
}

func (c ClaimNames) withDefaults() ClaimNames {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&c.Subject, "sub")
	def(&c.Role, "role")
	def(&c.County, "county")
	def(&c.Department, "department")
	def(&c.Inspector, "inspector")
	return c
}

// ParseRoleMap reads "idp-value=role,idp-value=role" (the JWT_ROLE_MAP
// setting); empty gives nil.
func ParseRoleMap(s string) (map[string]Role, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m := map[string]Role{}
	for _, pair := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(pair, "=")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" {
			return nil, fmt.Errorf("role map entry %q is not value=role", pair)
		}
		r, err := ParseRole(to)
		if err != nil {
			return nil, fmt.Errorf("role map entry %q: %q is not a role (use one of %s)", pair, to, roleList())
		}
		m[from] = r
	}
	return m, nil
}

// The algorithms accepted; none, HS* and everything else are refused.
var validMethods = []string{"RS256", "ES256"}

const (
	// keysMaxAge: keys older than this are refetched, so that a key the
	// identity provider withdrew stops working without a restart.
	keysMaxAge = 15 * time.Minute
	// refetchEvery bounds fetches caused by unknown key IDs, which anyone
	// can put in a token.
	refetchEvery = 30 * time.Second
	maxJWKSBytes = 1 << 20
)

// JWTVerifier verifies single sign-on tokens and maps their claims to a
// Principal. It is safe for concurrent use.
type JWTVerifier struct {
	cfg    JWTConfig
	parser *jwt.Parser

	fetchMu sync.Mutex // one fetch at a time

	mu        sync.RWMutex // guards the fields below
	keys      map[string]any
	fetchedAt time.Time // last successful load
	triedAt   time.Time // last attempt
	lastErr   error     // of the last attempt
}

// NewJWTVerifier checks cfg; it does not fetch the keys (see Refresh).
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	if (cfg.JWKSURL == "") == (cfg.JWKSFile == "") {
		return nil, errors.New("single sign-on needs exactly one of JWKS_URL and JWKS_FILE")
	}
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("single sign-on needs JWT_ISSUER and JWT_AUDIENCE: tokens from any issuer or for any audience are not accepted")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Claims = cfg.Claims.withDefaults()
	v := &JWTVerifier{cfg: cfg}
	v.parser = jwt.NewParser(jwt.WithValidMethods(validMethods), jwt.WithIssuer(cfg.Issuer), jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(), jwt.WithLeeway(cfg.Leeway), jwt.WithTimeFunc(cfg.Now))
	return v, nil
}

// Refresh loads the key set now.
func (v *JWTVerifier) Refresh(ctx context.Context) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	return v.fetchLocked(ctx)
}

// fetchLocked loads the key set; fetchMu must be held. On failure the keys
// already loaded stay in use.
func (v *JWTVerifier) fetchLocked(ctx context.Context) error {
	var data []byte
	var err error
	src := v.cfg.JWKSFile
	if src != "" {
		data, err = os.ReadFile(src)
	} else {
		src = v.cfg.JWKSURL
		data, err = v.download(ctx)
	}
	var keys map[string]any
	if err == nil {
		keys, err = ParseJWKS(data)
	}
	if err != nil {
		err = fmt.Errorf("load JWKS from %s: %w", src, err)
	}
	now := v.cfg.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.triedAt, v.lastErr = now, err
	if err == nil {
		v.keys, v.fetchedAt = keys, now
	}
	return err
}

// fetchIfDue loads the key set unless an attempt was made less than
// refetchEvery ago. With wait false it gives up at once when another fetch
// is under way (the caller goes on with the keys it has).
func (v *JWTVerifier) fetchIfDue(ctx context.Context, wait bool) {
	if wait {
		v.fetchMu.Lock()
	} else if !v.fetchMu.TryLock() {
		return
	}
	defer v.fetchMu.Unlock()
	v.mu.RLock()
	tried := v.triedAt
	v.mu.RUnlock()
	if !tried.IsZero() && v.cfg.Now().Sub(tried) < refetchEvery {
		return // someone else just tried
	}
	_ = v.fetchLocked(ctx) // the outcome is in lastErr
}

func (v *JWTVerifier) state() (keys map[string]any, fetchedAt time.Time, lastErr error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.keys, v.fetchedAt, v.lastErr
}

func (v *JWTVerifier) download(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxJWKSBytes)
	}
	return data, nil
}

// ErrKeysUnavailable is in the chain of a verification error when the key
// set could not be loaded, so that no token could be checked. The request
// is still answered 401 (the token may well be bad), but the operator
// should hear of it.
var ErrKeysUnavailable = errors.New("the signing keys of the identity provider are unavailable")

// key returns the public key for kid. Old keys are refetched by the
// request that notices (others go on meanwhile, and if the fetch fails the
// old keys stay in use, so an identity provider's outage does not lock
// everyone out); an unknown kid makes the request fetch, at most once per
// refetchEvery.
func (v *JWTVerifier) key(ctx context.Context, kid string) (any, error) {
	keys, fetchedAt, _ := v.state()
	if keys == nil || v.cfg.Now().Sub(fetchedAt) > keysMaxAge {
		v.fetchIfDue(ctx, keys == nil)
		keys, _, _ = v.state()
	}
	k, ok := lookupKey(keys, kid)
	if !ok {
		v.fetchIfDue(ctx, true)
		keys, _, _ = v.state()
		k, ok = lookupKey(keys, kid)
	}
	switch {
	case ok:
		return k, nil
	case keys == nil:
		_, _, lastErr := v.state()
		if lastErr == nil {
			lastErr = errors.New("not loaded yet")
		}
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, lastErr)
	case kid == "":
		return nil, errors.New("the token names no signing key (kid) and the key set has more than one")
	}
	return nil, fmt.Errorf("the token's signing key %q is not in the identity provider's key set", kid)
}

func lookupKey(keys map[string]any, kid string) (any, bool) {
	if k, ok := keys[kid]; ok && kid != "" {
		return k, true
	}
	if kid == "" && len(keys) == 1 {
		for _, k := range keys {
			return k, true
		}
	}
	return nil, false
}

// Verify checks token's signature, exp, nbf, iss and aud, and maps its
// claims to a principal. County and department claims are returned as the
// token states them (the Authenticator resolves them). A token that fails
// is Unauthorized; a valid token without a usable role is Forbidden.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (Principal, error) {
	var keyErr error
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		alg, _ := t.Header["alg"].(string)
		kid, _ := t.Header["kid"].(string)
		k, err := v.key(ctx, kid)
		if err != nil {
			keyErr = err
			return nil, err
		}
		switch k.(type) {
		case *rsa.PublicKey:
			if alg != "RS256" {
				keyErr = fmt.Errorf("the token is signed with %s but its key is an RSA key", alg)
			}
		case *ecdsa.PublicKey:
			if alg != "ES256" {
				keyErr = fmt.Errorf("the token is signed with %s but its key is a P-256 key", alg)
			}
		}
		return k, keyErr
	})
	if err != nil {
		// The fault is what the caller is told; the cause is for the log.
		if keyErr != nil {
			if errors.Is(keyErr, ErrKeysUnavailable) {
				return Principal{}, fmt.Errorf("%w: %w", fault.New(fault.Unauthorized, "the token cannot be verified now: the identity provider's signing keys are unavailable"), keyErr)
			}
			return Principal{}, fmt.Errorf("%w: %w", fault.New(fault.Unauthorized, "the token cannot be verified: %v", keyErr), err)
		}
		return Principal{}, fmt.Errorf("%w: %w", fault.New(fault.Unauthorized, "%s", jwtProblem(err)), err)
	}
	return v.principal(claims)
}

func jwtProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the token is malformed: it is not a JSON Web Token"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired: sign in again"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "the token is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token was not issued by the configured identity provider (iss)"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "the token is not meant for this service (aud)"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the token lacks a required claim (exp, iss or aud)"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "the token's signature does not verify, or it is not signed with RS256 or ES256"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token is issued in the future (iat)"
	}
	return "the token is not valid"
}

func (v *JWTVerifier) principal(claims jwt.MapClaims) (Principal, error) {
	return PrincipalOf(claims, v.cfg.Claims, v.cfg.RoleMap)
}

// PrincipalOf maps the claims of a single sign-on token (a JWT of the API
// or the ID token of the console's OpenID Connect sign-in) to a principal,
// the one way both do it: the subject, exactly one role (through roleMap
// when set), and the role's own scope. Scopes are not looked up here.
func PrincipalOf(claims map[string]any, c ClaimNames, roleMap map[string]Role) (Principal, error) {
	c = c.withDefaults()
	sub := claimString(claims, c.Subject)
	if sub == "" {
		return Principal{}, fault.New(fault.Unauthorized, "the token has no subject (claim %q)", c.Subject)
	}
	if len(sub) > 200 || strings.ContainsFunc(sub, isControl) {
		return Principal{}, fault.New(fault.Unauthorized, "the token's subject is not a usable user ID")
	}
	roles := map[Role]bool{}
	for _, s := range claimStrings(claims, c.Role) {
		if roleMap != nil {
			if r, ok := roleMap[s]; ok {
				roles[r] = true
			}
		} else if _, ok := roleNames[Role(s)]; ok {
			roles[Role(s)] = true
		}
	}
	if len(roles) != 1 {
		what := "no spotcheck role"
		if len(roles) > 1 {
			what = "several spotcheck roles; sign in with one"
		}
		return Principal{}, fault.New(fault.Forbidden, "the token carries %s (claim %q)", what, c.Role)
	}
	p := Principal{Subject: sub}
	for r := range roles {
		p.Role = r
	}
	// Only the role's own scope is read: an identity provider may send a
	// county for everyone.
	switch p.Role {
	case CountyOfficer:
		p.County = claimString(claims, c.County)
	case DepartmentOfficer:
		p.Department = claimString(claims, c.Department)
	case Inspector:
		p.InspectorKey = claimString(claims, c.Inspector)
	}
	if err := p.Validate(); err != nil {
		return Principal{}, fault.New(fault.Forbidden, "the token's role %s needs its scope: %v", p.Role, err)
	}
	return p, nil
}

func claim(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	parts := strings.Split(name, ".")
	var cur any = claims
	for _, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func claimString(claims map[string]any, name string) string {
	v, _ := claim(claims, name)
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
	case json.Number:
		return x.String()
	}
	return ""
}

func claimStrings(claims map[string]any, name string) []string {
	v, _ := claim(claims, name)
	switch x := v.(type) {
	case string:
		return strings.Fields(strings.ReplaceAll(x, ",", " "))
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, strings.TrimSpace(s))
			}
		}
		return out
	}
	return nil
}

// ParseJWKS reads a JSON Web Key Set (RFC 7517) and returns its signing
// keys by key ID: RSA keys of at least 2048 bits and P-256 keys. Keys for
// encryption and of other types are skipped.
func ParseJWKS(data []byte) (map[string]any, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			Crv string `json:"crv"`
			N   string `json:"n"`
			E   string `json:"e"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	keys := map[string]any{}
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch {
		case k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256"):
			n, err1 := b64int(k.N)
			e, err2 := b64int(k.E)
			if err1 != nil || err2 != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
				return nil, fmt.Errorf("key %d (%q): RSA n or e is not valid base64url", i, k.Kid)
			}
			if n.BitLen() < 2048 {
				return nil, fmt.Errorf("key %d (%q): RSA keys of %d bits are too weak; 2048 at least", i, k.Kid, n.BitLen())
			}
			keys[k.Kid] = &rsa.PublicKey{N: n, E: int(e.Int64())}
		case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == "ES256"):
			x, err1 := b64(k.X)
			y, err2 := b64(k.Y)
			if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
				return nil, fmt.Errorf("key %d (%q): P-256 x and y must be 32 bytes of base64url each", i, k.Kid)
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil {
				return nil, fmt.Errorf("key %d (%q): %w", i, k.Kid, err)
			}
			keys[k.Kid] = pub
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("the key set has no RS256 or ES256 signing key")
	}
	return keys, nil
}

func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func b64int(s string) (*big.Int, error) {
	b, err := b64(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad integer")
	}
	return new(big.Int).SetBytes(b), nil
}
