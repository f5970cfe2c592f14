package api

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/library"
)

// A nameResolver turns a filter's value, a code or a Chinese name, into the
// code; a value that names nothing is the caller's mistake (400), never a
// silently empty list.
type nameResolver func(ctx context.Context, s *Server, field, v string) (string, error)

// filterNames are the query parameters that name a region, a department, a
// check item or an enumerated value, wherever they appear.
var filterNames = map[string]nameResolver{
	"county":      regionByName,
	"region":      regionByName,
	"region_code": regionByName,
	"department":  departmentByName,
	"item":        itemByName,
	"duty":        enumByName(dutyCodes),
	"stage":       enumByName(stageCodes),
	"result":      enumByName(resultCodes),
}

// canonicalFilters rewrites the filters of filterNames to codes before the
// handler reads them, so that every filter takes a code or a name alike.
func (s *Server) canonicalFilters() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.URL.RawQuery == "" {
			c.Next()
			return
		}
		q, err := url.ParseQuery(c.Request.URL.RawQuery)
		if err != nil {
			c.Next() // checkQuery names the malformed query
			return
		}
		changed := false
		for name, values := range q {
			resolve, ok := filterNames[name]
			if !ok {
				continue
			}
			for i, v := range values {
				if strings.TrimSpace(v) == "" {
					continue
				}
				code, err := resolve(c.Request.Context(), s, name, strings.TrimSpace(v))
				if err != nil {
					s.fail(c, err)
					c.Abort()
					return
				}
				if code != v {
					values[i], changed = code, true
				}
			}
		}
		if changed {
			c.Request.URL.RawQuery = q.Encode()
		}
		c.Next()
	}
}

func regionByName(ctx context.Context, s *Server, field, v string) (string, error) {
	codes, err := s.codesNamed(ctx, field, v, library.RegionName)
	if err == nil && len(codes) == 0 {
		err = fault.Field(field, "%q is not a county (region) code or name, such as 330424 or 海盐县", v)
	}
	return oneCode(field, v, codes, err)
}

func departmentByName(ctx context.Context, s *Server, field, v string) (string, error) {
	codes, err := s.codesNamed(ctx, field, v, library.DepartmentName)
	if err == nil && len(codes) == 0 {
		err = fault.Field(field, "%q is not a department code or name", v)
	}
	return oneCode(field, v, codes, err)
}

func itemByName(ctx context.Context, s *Server, field, v string) (string, error) {
	codes, err := s.codesNamed(ctx, field, v, library.ItemName)
	if err == nil && len(codes) == 0 {
		err = fault.Field(field, "%q is not a check item code or name", v)
	}
	return oneCode(field, v, codes, err)
}

// codesNamed are the codes of kind whose code or name is v.
func (s *Server) codesNamed(ctx context.Context, field, v string, kind library.NameKind) ([]string, error) {
	codes, err := s.library().CodesNamed(ctx, kind, v)
	if err != nil {
		return nil, fmt.Errorf("filter %s: %w", field, err)
	}
	return codes, nil
}

// oneCode is v itself when it is a code, else the one code it names.
func oneCode(field, v string, codes []string, err error) (string, error) {
	switch {
	case err != nil:
		return "", err
	case contains(codes, v):
		return v, nil
	case len(codes) > 1:
		return "", fault.Field(field, "%q names several: %s; give the code", v, strings.Join(codes, ", "))
	}
	return codes[0], nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// enumByName accepts a code of codes or its Chinese term.
func enumByName(codes func() map[string]string) nameResolver {
	return func(_ context.Context, _ *Server, field, v string) (string, error) {
		terms := codes()
		if _, ok := terms[v]; ok {
			return v, nil
		}
		for code, zh := range terms {
			if zh == v {
				return code, nil
			}
		}
		known := make([]string, 0, len(terms))
		for code, zh := range terms {
			known = append(known, code+" ("+zh+")")
		}
		sort.Strings(known)
		return "", fault.Field(field, "%q is not one of %s", v, strings.Join(known, ", "))
	}
}

func dutyCodes() map[string]string { return inspection.DutyNames }

func stageCodes() map[string]string {
	m := map[string]string{}
	for s, zh := range inspection.StageNames {
		m[string(s)] = zh
	}
	return m
}

func resultCodes() map[string]string {
	m := map[string]string{}
	for _, r := range inspection.ResultCodes {
		m[r.Code] = r.Chinese
	}
	return m
}
