package match

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// PoolHash returns pool_hash, the lowercase hex SHA-256 of the canonical JSON
// of the inspector list.
//
// The specification does not define "canonical JSON"; this package defines
// it as the RFC 8785 (JSON Canonicalization Scheme) serialization of the
// pool normalized as follows, so that the hash depends on what the pool
// means and not on the order in which a database returned it:
//
//   - the inspectors are sorted by inspector_key, bytewise ascending;
//   - each inspector is an object with exactly the members inspector_key,
//     tags, initial_load and max_load, which RFC 8785 writes in the order
//     initial_load, inspector_key, max_load, tags;
//   - tags are sorted bytewise ascending with duplicates removed, and an
//     inspector without tags has "tags":[];
//   - no whitespace; integers in plain decimal; strings as literal UTF-8
//     with only '"', '\' and the control characters U+0000 to U+001F
//     escaped: \b, \t, \n, \f, \r for those five and \u00xx (lowercase hex)
//     for the others.
//
// For example, the pool of one inspector "JX-1" holding tags "survey" and
// "land" with load 2 of 30 is hashed as the UTF-8 bytes of
//
//	[{"initial_load":2,"inspector_key":"JX-1","max_load":30,"tags":["land","survey"]}]
//
// An empty pool is "[]". PoolHash does not validate its input; [Match]
// rejects pools (invalid UTF-8, loads beyond 2^53-1) that this form could
// not represent faithfully.
func PoolHash(inspectors []Inspector) string {
	sum := sha256.Sum256(canonicalPool(inspectors))
	return hex.EncodeToString(sum[:])
}

// canonicalPool returns the canonical JSON described in PoolHash.
func canonicalPool(inspectors []Inspector) []byte {
	sorted := slices.Clone(inspectors)
	slices.SortFunc(sorted, func(a, b Inspector) int {
		return strings.Compare(a.InspectorKey, b.InspectorKey)
	})
	b := []byte{'['}
	for i, in := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"initial_load":`...)
		b = strconv.AppendInt(b, int64(in.InitialLoad), 10)
		b = append(b, `,"inspector_key":`...)
		b = appendJSONString(b, in.InspectorKey)
		b = append(b, `,"max_load":`...)
		b = strconv.AppendInt(b, int64(in.MaxLoad), 10)
		b = append(b, `,"tags":[`...)
		tags := slices.Compact(slices.Sorted(slices.Values(in.Tags)))
		for t, tag := range tags {
			if t > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, tag)
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

// appendJSONString appends s as an RFC 8785 string. encoding/json is not
// used because its escaping is not RFC 8785's (it escapes U+2028, U+2029 and,
// by default, <, > and &) and has changed between Go releases.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20:
			b = append(b, c)
		case c == '\b':
			b = append(b, `\b`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\f':
			b = append(b, `\f`...)
		case c == '\r':
			b = append(b, `\r`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return append(b, '"')
}
