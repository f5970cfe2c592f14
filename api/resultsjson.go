package api

import (
	"encoding/json"
	"unicode/utf8"
)

// appendResultsPage appends the JSON of a page of public results, byte for
// byte what encoding/json writes (with its trailing newline), without
// reflection: the first page of the public results is the busiest public
// answer.
func appendResultsPage(b []byte, page Page[PublicResult]) []byte {
	b = append(b, `{"items":[`...)
	for i, r := range page.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"batch_id":`...)
		b = appendJSONString(b, r.BatchID)
		b = append(b, `,"object_key":`...)
		b = appendJSONString(b, r.ObjectKey)
		b = append(b, `,"object_name":`...)
		b = appendJSONString(b, r.ObjectName)
		b = append(b, `,"county":`...)
		b = appendJSONString(b, r.County)
		b = append(b, `,"county_name":`...)
		b = appendJSONString(b, r.CountyName)
		b = append(b, `,"items":`...)
		if r.Items == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for k, it := range r.Items {
				if k > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, it)
			}
			b = append(b, ']')
		}
		b = append(b, `,"result_code":`...)
		b = appendJSONString(b, r.ResultCode)
		b = append(b, `,"result":`...)
		b = appendJSONString(b, r.Result)
		if r.InspectedOn != "" {
			b = append(b, `,"inspected_on":`...)
			b = appendJSONString(b, r.InspectedOn)
		}
		b = append(b, `,"published_on":`...)
		b = appendJSONString(b, r.PublishedOn)
		b = append(b, `,"authority":`...)
		b = appendJSONString(b, r.Authority)
		b = append(b, '}')
	}
	b = append(b, ']')
	if page.NextCursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = appendJSONString(b, page.NextCursor)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as encoding/json quotes it. Strings that need
// no escaping, nearly all, are copied; any other is left to encoding/json,
// so that its escaping (HTML characters, U+2028, invalid UTF-8) holds.
func appendJSONString(b []byte, s string) []byte {
	plain := utf8.ValidString(s)
	for i := 0; plain && i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			plain = false
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9): // U+2028, U+2029
			plain = false
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}
