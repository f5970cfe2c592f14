package api

import (
	"strconv"
	"strings"
	"testing"

	"github.com/spotcheck-gov/spotcheck/internal/testenv"
)

type contactBody struct {
	ID         int64  `json:"id"`
	RegionCode string `json:"region_code"`
	RegionName string `json:"region_name"`
	Role       string `json:"role"`
	Name       string `json:"name"`
	Channel    string `json:"channel"`
	Address    string `json:"address"`
	HasSecret  bool   `json:"has_secret"`
	CreatedBy  string `json:"created_by"`
}

func TestContactsAPI(t *testing.T) {
	h := newDBHandler(t)
	// Leave nothing behind, so that the test can run again in the database.
	t.Cleanup(func() { testenv.DB(t).Exec(`DELETE FROM contacts WHERE region_code = '330483'`) })

	rec := sendJSON(h, "POST", "/api/v1/contacts", `{"region_code": "桐乡市", "role": "county_officer", "name": "桐乡分局经办人", "channel": "webhook",
		"address": "https://hooks.tongxiang.example.gov.cn/spotcheck", "secret": "tongxiang-secret-0123456789"}`)
	var hook contactBody
	wantStatus(t, rec, 201, &hook)
	if hook.RegionCode != "330483" || hook.RegionName != "桐乡市" || !hook.HasSecret || hook.Channel != "webhook" {
		t.Errorf("created %+v", hook)
	}
	if strings.Contains(rec.Body.String(), "tongxiang-secret") {
		t.Errorf("the secret is shown: %s", rec.Body)
	}
	if rec.Header().Get("Location") != "/api/v1/contacts/"+strconv.FormatInt(hook.ID, 10) {
		t.Errorf("Location %q", rec.Header().Get("Location"))
	}
	var mail contactBody
	wantStatus(t, sendJSON(h, "POST", "/api/v1/contacts", `{"region_code": "330483", "role": "county_officer", "channel": "email", "address": "officer@tongxiang.example.gov.cn"}`), 201, &mail)
	var head contactBody
	wantStatus(t, sendJSON(h, "POST", "/api/v1/contacts", `{"region_code": "330483", "role": "county_head", "channel": "log"}`), 201, &head)

	// Bad input: every problem named, nothing stored.
	wantProblem(t, sendJSON(h, "POST", "/api/v1/contacts", `{"region_code": "上海市", "role": "mayor", "channel": "email", "address": "not-an-address"}`),
		400, []string{"region_code", "role", "address"}, "上海市")
	wantProblem(t, sendJSON(h, "POST", "/api/v1/contacts", `{"region_code": "330483", "role": "county_officer", "channel": "webhook", "address": "javascript:alert(1)"}`),
		400, []string{"address"})
	wantProblem(t, sendJSON(h, "POST", "/api/v1/contacts", `{"region_code": "330483", "role": "county_officer", "channel": "webhook", "address": "https://x.example.cn", "secret": 12}`),
		400, []string{"secret"})
	wantProblem(t, sendJSON(h, "POST", "/api/v1/contacts", `{"region_code": "330483", "role": "county_officer", "channel": "email", "address": "a@b.cn", "phone": "1"}`),
		400, []string{"phone"})
	wantProblem(t, sendJSON(h, "POST", "/api/v1/contacts", `{"region_code": "330483", "role": "county_officer", "channel": "email", "address": "officer@tongxiang.example.gov.cn"}`),
		409, nil, "already exists")

	// Lists: filtered by region name or code, role, channel; paginated.
	var page struct {
		Items      []contactBody `json:"items"`
		NextCursor string        `json:"next_cursor"`
	}
	wantStatus(t, sendJSON(h, "GET", "/api/v1/contacts?region_code=桐乡市&role=county_officer&limit=1", ""), 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != hook.ID || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	cursor := page.NextCursor
	page.NextCursor = ""
	wantStatus(t, sendJSON(h, "GET", "/api/v1/contacts?region_code=桐乡市&role=county_officer&limit=1&cursor="+cursor, ""), 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != mail.ID || page.NextCursor != "" {
		t.Errorf("second page %+v", page)
	}
	wantStatus(t, sendJSON(h, "GET", "/api/v1/contacts?region_code=330483&channel=log", ""), 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != head.ID {
		t.Errorf("log contacts %+v", page.Items)
	}
	wantProblem(t, sendJSON(h, "GET", "/api/v1/contacts?role=mayor", ""), 400, []string{"role"})
	wantProblem(t, sendJSON(h, "GET", "/api/v1/contacts?county=330483", ""), 400, []string{"county"})
	wantProblem(t, sendJSON(h, "GET", "/api/v1/contacts?cursor=!!", ""), 400, []string{"cursor"})

	var got contactBody
	wantStatus(t, sendJSON(h, "GET", "/api/v1/contacts/"+strconv.FormatInt(mail.ID, 10), ""), 200, &got)
	if got != mail {
		t.Errorf("GET %+v, want %+v", got, mail)
	}

	// Delete: gone from lists, a second delete is 404, history is kept.
	path := "/api/v1/contacts/" + strconv.FormatInt(mail.ID, 10)
	if rec := sendJSON(h, "DELETE", path, ""); rec.Code != 204 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	wantProblem(t, sendJSON(h, "DELETE", path, ""), 404, nil)
	wantProblem(t, sendJSON(h, "GET", path, ""), 404, nil)
	wantProblem(t, sendJSON(h, "DELETE", "/api/v1/contacts/first", ""), 400, []string{"id"})
	wantStatus(t, sendJSON(h, "GET", "/api/v1/contacts?region_code=330483&role=county_officer", ""), 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != hook.ID {
		t.Errorf("after delete %+v", page.Items)
	}
	var kept int
	if err := testenv.DB(t).Get(&kept, `SELECT count(*) FROM contacts WHERE id = $1 AND deleted_at IS NOT NULL AND deleted_by <> ''`, mail.ID); err != nil || kept != 1 {
		t.Errorf("deleted contact not kept: %d %v", kept, err)
	}
}
