package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
	"github.com/spotcheck-gov/spotcheck/internal/auth"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/staffing"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// The pages of the people who do a batch's work: the county officer's
// 待办, match and reviews, the inspector's 我的任务 and record sheet, and
// the auditor's read-only views of the match proofs and the audit trail.
// As everywhere in the console, every read and action is the API's.

// mountWork registers the pages of this file on s (the signed-in group).
func (k *Console) mountWork(s *gin.RouterGroup) {
	s.GET("/counties/:county", k.county)
	s.GET("/counties/:county/ledger", k.ledger)
	s.GET("/batches/:id/counties/:county/match", k.matchPage)
	s.POST("/batches/:id/counties/:county/match", k.runMatch)
	s.GET("/batches/:id/proofs", k.proofs)
	s.GET("/batches/:id/tasks/:key", k.task)
	s.GET("/batches/:id/tasks/:key/sheet", k.sheet)
	s.POST("/batches/:id/tasks/:key/:action", k.taskAction)
	s.GET("/tasks", k.myTasks)
	s.GET("/audit", k.auditTrail)
}

// home is the console's first page for the session's role: a county
// officer's is their county's 待办, an inspector's 我的任务, everyone
// else's the dashboard.
func (k *Console) home(c *gin.Context) {
	u := sessionOf(c).User
	switch u.Role {
	case auth.CountyOfficer:
		c.Redirect(http.StatusSeeOther, "/console/counties/"+url.PathEscape(u.County))
	case auth.Inspector:
		c.Redirect(http.StatusSeeOther, "/console/tasks")
	default:
		k.dashboard(c)
	}
}

// worklist is GET /api/v1/worklist.
type worklist struct {
	Today   workday.Date `json:"today"`
	Matches []struct {
		BatchID   string `json:"batch_id"`
		BatchName string `json:"batch_name"`
		County    string `json:"county"`
		Objects   int    `json:"objects"`
		LockedOn  string `json:"locked_on"`
	} `json:"matches"`
	Items []workItem `json:"items"`
}

type workItem struct {
	BatchID         string        `json:"batch_id"`
	BatchName       string        `json:"batch_name"`
	ObjectKey       string        `json:"object_key"`
	ObjectName      string        `json:"object_name"`
	County          string        `json:"county"`
	Stage           string        `json:"stage"`
	Inspectors      []string      `json:"inspectors"`
	Duty            string        `json:"duty"`
	Due             *workday.Date `json:"due"`
	Overdue         bool          `json:"overdue"`
	WorkingDaysLeft *int          `json:"working_days_left"`
	Urgency         string        `json:"urgency"`
}

type countyPage struct {
	County        string
	Names         map[string]string
	Work          worklist
	Reviews       []workItem
	FollowUps     []workItem
	Open          []workItem
	Notifications []notify.Sent
	NextNotes     string
}

// county is a county officer's 待办: the matches to run, the results to
// review, the follow-ups, every open deadline with its working days left,
// and the reminders and escalations that reached the county.
func (k *Console) county(c *gin.Context) {
	county := c.Param("county")
	p := countyPage{County: county}
	// The notifications first: the API refuses another county's (403).
	var notes apiPage[notify.Sent]
	if err := k.call(c, http.MethodGet, "/api/v1/notifications?limit=20&county="+url.QueryEscape(county), nil, &notes); err != nil {
		k.fail(c, err)
		return
	}
	p.Notifications, p.NextNotes = notes.Items, notes.NextCursor
	if err := k.call(c, http.MethodGet, "/api/v1/worklist", nil, &p.Work); err != nil {
		k.fail(c, err)
		return
	}
	for _, it := range p.Work.Items {
		switch {
		case it.Duty == "review":
			p.Reviews = append(p.Reviews, it)
		case it.Duty == "follow_up_entry":
			p.FollowUps = append(p.FollowUps, it)
			p.Open = append(p.Open, it)
		default:
			p.Open = append(p.Open, it)
		}
	}
	names, _, err := k.regionNames(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	p.Names = names
	k.page(c, http.StatusOK, "county", names[county]+"待办", nil, p)
}

type ledgerPage struct {
	County string
	Names  map[string]string
	Items  []stats.Lapse
	Next   string
}

// ledger is a county's accountability ledger (问责台账).
func (k *Console) ledger(c *gin.Context) {
	county := c.Param("county")
	p := ledgerPage{County: county}
	q := url.Values{"county": {county}, "limit": {"100"}}
	if cur := c.Query("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	var list apiPage[stats.Lapse]
	if err := k.call(c, http.MethodGet, "/api/v1/accountability?"+q.Encode(), nil, &list); err != nil {
		k.fail(c, err)
		return
	}
	p.Items = list.Items
	if list.NextCursor != "" {
		p.Next = "/console/counties/" + url.PathEscape(county) + "/ledger?cursor=" + url.QueryEscape(list.NextCursor)
	}
	names, _, err := k.regionNames(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	p.Names = names
	k.page(c, http.StatusOK, "ledger", names[county]+"问责台账", []Crumb{{Name: names[county] + "待办", Href: "/console/counties/" + url.PathEscape(county)}, {Name: "问责台账"}}, p)
}

type matchPageData struct {
	BatchID string
	County  string
	Names   map[string]string
	Pool    staffing.PoolPreview
	// Inspectors by key, for their names.
	Inspectors map[string]staffing.PoolInspector
	Problem    *apiError
	Beacon     string
}

func (k *Console) matchPage(c *gin.Context) { k.showMatch(c, http.StatusOK, nil, "") }

// showMatch is the county's match: its pool first, then the button that
// runs it.
func (k *Console) showMatch(c *gin.Context, status int, problem *apiError, beacon string) {
	id, county := c.Param("id"), c.Param("county")
	p := matchPageData{BatchID: id, County: county, Problem: problem, Beacon: beacon, Inspectors: map[string]staffing.PoolInspector{}}
	if err := k.call(c, http.MethodGet, "/api/v1/batches/"+url.PathEscape(id)+"/counties/"+url.PathEscape(county)+"/match-pool", nil, &p.Pool); err != nil {
		k.fail(c, err)
		return
	}
	for _, in := range p.Pool.Pool {
		p.Inspectors[in.Key] = in
	}
	names, _, err := k.regionNames(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	p.Names = names
	k.page(c, status, "match", "匹配执法检查人员："+names[county], []Crumb{{Name: "批次 " + id, Href: "/console/batches/" + url.PathEscape(id)}, {Name: names[county] + "匹配"}}, p)
}

func (k *Console) runMatch(c *gin.Context) {
	id, county := c.Param("id"), c.Param("county")
	beacon := strings.TrimSpace(c.PostForm("beacon"))
	var body any
	if beacon != "" {
		body = map[string]string{"beacon": beacon}
	}
	err := k.call(c, http.MethodPost, "/api/v1/batches/"+url.PathEscape(id)+"/counties/"+url.PathEscape(county)+"/match", body, nil,
		"Idempotency-Key", "console-match-"+c.PostForm("idem"))
	if pr := refusal(err); pr != nil {
		if pr.Status == http.StatusForbidden {
			k.fail(c, err)
			return
		}
		k.showMatch(c, pr.Status, pr, beacon)
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	done(c, "/console/counties/"+url.PathEscape(county), "批次 "+id+" 已完成匹配，匹配证明已保存，任务已分配到检查组。")
}

// taskDetail is GET /api/v1/batches/{id}/tasks/{key}.
type taskDetail struct {
	taskLine
	BatchID     string        `json:"batch_id"`
	Inspectors  []string      `json:"inspectors"`
	InspectedOn *workday.Date `json:"inspected_on"`
}

// taskSheet is GET /api/v1/batches/{id}/tasks/{key}/sheet.
type taskSheet struct {
	Task  taskDetail `json:"task"`
	Batch struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"batch"`
	Object struct {
		Key        string `json:"key"`
		Name       string `json:"name"`
		Address    string `json:"address"`
		RegionName string `json:"region_name"`
	} `json:"object"`
	Items []struct {
		Code       string   `json:"code"`
		Version    int      `json:"version"`
		Name       string   `json:"name"`
		Authority  string   `json:"authority"`
		LegalBasis string   `json:"legal_basis"`
		Content    string   `json:"content"`
		Methods    []string `json:"methods"`
	} `json:"items"`
	Team []struct {
		Key         string `json:"key"`
		Name        string `json:"name"`
		Unit        string `json:"unit"`
		Certificate string `json:"certificate_no"`
	} `json:"team"`
	Result *struct {
		Code           string `json:"result_code"`
		Method         string `json:"method"`
		Notes          string `json:"notes"`
		SuspectedCrime bool   `json:"suspected_crime"`
		Review         string `json:"review"`
		ReviewComment  string `json:"review_comment"`
	} `json:"result"`
	Methods []string `json:"methods"`
}

type choice struct{ Code, Chinese string }

type taskPageData struct {
	Sheet   taskSheet
	Names   map[string]string
	Role    string
	Today   string
	Results []choice
	Actions []choice
	Problem *apiError
	Input   map[string]string
	Idem    string
}

func (k *Console) task(c *gin.Context) { k.showTask(c, http.StatusOK, nil, nil) }

func (k *Console) loadSheet(c *gin.Context) (taskSheet, error) {
	var sh taskSheet
	err := k.call(c, http.MethodGet, "/api/v1/batches/"+url.PathEscape(c.Param("id"))+"/tasks/"+url.PathEscape(c.Param("key"))+"/sheet", nil, &sh)
	return sh, err
}

// showTask is one task: its deadlines, team and result, and the forms of
// the entries its stage takes (the API refuses any the stage or the
// caller's role does not allow).
func (k *Console) showTask(c *gin.Context, status int, problem *apiError, in map[string]string) {
	sh, err := k.loadSheet(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	p := taskPageData{Sheet: sh, Role: string(sessionOf(c).User.Role), Today: k.now().In(chinaTZ).Format("2006-01-02"),
		Problem: problem, Input: in, Idem: newNonce()}
	if p.Input == nil {
		p.Input = map[string]string{"completed_on": p.Today}
	}
	for _, r := range inspection.ResultCodes {
		p.Results = append(p.Results, choice(r))
	}
	for _, a := range inspection.FollowUpActions {
		p.Actions = append(p.Actions, choice(a))
	}
	if p.Names, _, err = k.regionNames(c); err != nil {
		k.fail(c, err)
		return
	}
	crumbs := []Crumb{{Name: "批次 " + sh.Batch.ID, Href: "/console/batches/" + url.PathEscape(sh.Batch.ID)}, {Name: sh.Object.Name}}
	switch sessionOf(c).User.Role {
	case auth.Inspector:
		crumbs[0] = Crumb{Name: "我的任务", Href: "/console/tasks"}
	case auth.CountyOfficer:
		crumbs[0] = Crumb{Name: p.Names[sh.Task.County] + "待办", Href: "/console/counties/" + url.PathEscape(sh.Task.County)}
	}
	k.page(c, status, "task", sh.Object.Name+"（"+sh.Task.ObjectKey+"）", crumbs, p)
}

// taskActions are the entries a task page posts: the API's path and what
// the flash says once done.
var taskActions = map[string]struct{ path, done string }{
	"inspected": {"inspected", "已记录检查完成，请在期限内录入检查结果。"},
	"result":    {"result", "检查结果已录入，待县局审核。"},
	"review":    {"review", "审核意见已提交。"},
	"follow-up": {"follow-up", "后续监管结果已录入。"},
	"replace":   {"replacements", "已按公布的匹配顺序替换检查人员，替换记入匹配证明。"},
}

// taskAction sends one entry of a task's page to the API as the form says
// it; the API validates and refuses, in Chinese, what is wrong.
func (k *Console) taskAction(c *gin.Context) {
	a, ok := taskActions[c.Param("action")]
	if !ok {
		k.page(c, http.StatusNotFound, "error", consoleTitles[404], nil, errorPage{Status: 404, Message: "没有这个操作。"})
		return
	}
	in := map[string]string{}
	for _, n := range []string{"completed_on", "result_code", "method", "notes", "decision", "comment", "inspector_key", "reason"} {
		in[n] = strings.TrimSpace(c.PostForm(n))
	}
	var body map[string]any
	switch c.Param("action") {
	case "inspected":
		body = map[string]any{"completed_on": in["completed_on"]}
	case "result":
		body = map[string]any{"result_code": in["result_code"], "method": in["method"], "notes": in["notes"], "suspected_crime": c.PostForm("suspected_crime") != ""}
	case "review":
		body = map[string]any{"comment": in["comment"]}
		switch in["decision"] {
		case "approve":
			body["approve"] = true
		case "return":
			body["approve"] = false
		}
	case "follow-up":
		actions := c.PostFormArray("actions")
		if actions == nil {
			actions = []string{}
		}
		body = map[string]any{"completed_on": in["completed_on"], "actions": actions, "notes": in["notes"]}
	case "replace":
		body = map[string]any{"inspector_key": in["inspector_key"], "reason": in["reason"]}
	}
	id, key := c.Param("id"), c.Param("key")
	err := k.call(c, http.MethodPost, "/api/v1/batches/"+url.PathEscape(id)+"/tasks/"+url.PathEscape(key)+"/"+a.path, body, nil,
		"Idempotency-Key", "console-"+c.Param("action")+"-"+c.PostForm("idem"))
	if pr := refusal(err); pr != nil {
		if pr.Status == http.StatusNotFound || pr.Status == http.StatusForbidden {
			k.fail(c, err)
			return
		}
		k.showTask(c, pr.Status, pr, in)
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	done(c, "/console/batches/"+url.PathEscape(id)+"/tasks/"+url.PathEscape(key), a.done)
}

// sheet is the printable record sheet (检查记录表) of a task: A4 when
// printed, one column on a phone.
func (k *Console) sheet(c *gin.Context) {
	sh, err := k.loadSheet(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	names, _, err := k.regionNames(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	k.page(c, http.StatusOK, "sheet", "检查记录表", []Crumb{{Name: sh.Object.Name, Href: "/console/batches/" + url.PathEscape(sh.Batch.ID) + "/tasks/" + url.PathEscape(sh.Task.ObjectKey)}, {Name: "检查记录表"}},
		map[string]any{"Sheet": sh, "Names": names})
}

type myTasksPage struct {
	Work          worklist
	Names         map[string]string
	Notifications []notify.Sent
}

// myTasks is an inspector's 我的任务: the open deadlines of their tasks,
// and the reminders and escalations about them.
func (k *Console) myTasks(c *gin.Context) {
	var p myTasksPage
	if err := k.call(c, http.MethodGet, "/api/v1/worklist", nil, &p.Work); err != nil {
		k.fail(c, err)
		return
	}
	var notes apiPage[notify.Sent]
	if err := k.call(c, http.MethodGet, "/api/v1/notifications?limit=20", nil, &notes); err != nil {
		k.fail(c, err)
		return
	}
	p.Notifications = notes.Items
	names, _, err := k.regionNames(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	p.Names = names
	k.page(c, http.StatusOK, "tasks", "我的任务", nil, p)
}

type proofInfo struct {
	staffing.ProofInfo
	URL string `json:"url"`
}

type proofsPage struct {
	Batch  batchDetail
	Names  map[string]string
	Groups []proofGroup
	Shown  *staffing.Proof
	Which  string
}

type proofGroup struct {
	County string
	Proofs []proofInfo
}

// proofs lists a batch's match proofs county by county, and shows one
// (?county=&object=&round=&department=) with its seeds, pool and teams.
func (k *Console) proofs(c *gin.Context) {
	id := c.Param("id")
	var p proofsPage
	if err := k.call(c, http.MethodGet, "/api/v1/batches/"+url.PathEscape(id), nil, &p.Batch); err != nil {
		k.fail(c, err)
		return
	}
	var prog stats.Progress
	if err := k.call(c, http.MethodGet, "/api/v1/batches/"+url.PathEscape(id)+"/progress", nil, &prog); err != nil {
		k.fail(c, err)
		return
	}
	for _, cp := range prog.Counties {
		var list apiPage[proofInfo]
		err := k.call(c, http.MethodGet, "/api/v1/batches/"+url.PathEscape(id)+"/counties/"+url.PathEscape(cp.County)+"/match-proofs", nil, &list)
		if ae := refusal(err); ae != nil && ae.Status == http.StatusNotFound {
			err, list.Items = nil, nil // not matched yet
		}
		if err != nil {
			k.fail(c, err)
			return
		}
		p.Groups = append(p.Groups, proofGroup{County: cp.County, Proofs: list.Items})
	}
	if county := c.Query("county"); county != "" {
		q := url.Values{}
		for _, n := range []string{"object", "round", "department"} {
			if v, ok := c.GetQuery(n); ok {
				q.Set(n, v)
			}
		}
		path := "/api/v1/batches/" + url.PathEscape(id) + "/counties/" + url.PathEscape(county) + "/match-proof"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		var pr staffing.Proof
		if err := k.call(c, http.MethodGet, path, nil, &pr); err != nil {
			k.fail(c, err)
			return
		}
		p.Shown, p.Which = &pr, "/console/download"+strings.TrimPrefix(path, "/api/v1")
	}
	names, _, err := k.regionNames(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	p.Names = names
	k.page(c, http.StatusOK, "proofs", "匹配证明：批次 "+id, []Crumb{{Name: "批次 " + id, Href: "/console/batches/" + url.PathEscape(id)}, {Name: "匹配证明"}}, p)
}

type auditPage struct {
	Records []audit.Record
	Next    string
	Filter  map[string]string
	Verify  *audit.Report
}

// auditTrail is the audit log, newest first, with a filter and the chain's
// verification (?verify=1).
func (k *Console) auditTrail(c *gin.Context) {
	p := auditPage{Filter: map[string]string{}}
	q := url.Values{"limit": {"50"}}
	for _, n := range []string{"entity", "entity_id", "action", "actor", "cursor"} {
		if v := strings.TrimSpace(c.Query(n)); v != "" {
			q.Set(n, v)
			p.Filter[n] = v
		}
	}
	var list apiPage[audit.Record]
	if err := k.call(c, http.MethodGet, "/api/v1/audit?"+q.Encode(), nil, &list); err != nil {
		k.fail(c, err)
		return
	}
	p.Records = list.Items
	if list.NextCursor != "" {
		q.Set("cursor", list.NextCursor)
		q.Del("limit")
		p.Next = "/console/audit?" + q.Encode()
	}
	if c.Query("verify") != "" {
		var rep audit.Report
		if err := k.call(c, http.MethodGet, "/api/v1/audit/verify", nil, &rep); err != nil {
			k.fail(c, err)
			return
		}
		p.Verify = &rep
	}
	k.page(c, http.StatusOK, "audit", "审计日志", []Crumb{{Name: "审计日志"}}, p)
}

// daysLeft writes a deadline's working days left for people.
func daysLeft(left *int) string {
	switch {
	case left == nil:
		return "（工作日历缺少该年，暂不计算）"
	case *left > 0:
		return "剩 " + strconv.Itoa(*left) + " 个工作日"
	case *left == 0:
		return "今日到期"
	}
	return "已逾期 " + strconv.Itoa(-*left) + " 个工作日"
}

// noteKinds names the notifications' kinds.
var noteKinds = map[string]string{
	notify.KindReminder: "提醒", notify.KindEscalation: "督办", "assigned": "任务分配", "digest": "每日待办", "notice": "通知",
}

func noteKind(k string) string {
	if n, ok := noteKinds[k]; ok {
		return n
	}
	return "通知"
}

// recusalNames say why an inspector is recused (staffing.Recused*).
var recusalNames = map[string]string{
	staffing.RecusedConflict: "申报了利害关系",
	staffing.RecusedPrevious: "上次检查该对象的检查组成员",
	staffing.RecusedStation:  "本所（站）人员，该事项须跨所（站）检查",
}

// fieldNames name the API's fields of the console's forms as their labels
// do, for the table of a refusal's problems.
var fieldNames = map[string]string{
	"completed_on": "完成日期", "result_code": "检查结果", "method": "检查方式", "notes": "情况说明", "comment": "意见说明",
	"approve": "审核意见", "actions": "处置措施", "inspector_key": "执法检查人员", "reason": "理由", "working_days": "延长工作日",
	"duty": "环节", "beacon": "公开随机值",
}

// fieldName is a field's label, or the field as the API names it (a row's
// column, a nested field) when the forms have none.
func fieldName(f string) string {
	if n, ok := fieldNames[f]; ok {
		return n
	}
	if base, _, ok := strings.Cut(f, "["); ok {
		if n, ok := fieldNames[base]; ok {
			return n
		}
	}
	return f
}
