package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/digest"
	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/library"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/plan"
	"github.com/spotcheck-gov/spotcheck/internal/stats"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// page[T] is a list page of the API.
type apiPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// dashboardData is the answer of GET /api/v1/dashboard.
type dashboardData struct {
	stats.Dashboard
	Today           workday.Date  `json:"today"`
	DueSoon         digest.Digest `json:"due"`
	CalendarMissing []int         `json:"calendar_missing"`
}

type dashboardPage struct {
	dashboardData
	Names                      map[string]string
	Chart                      chartData
	Closed, Awaiting, Assigned int
	Polled                     int // seconds between updates
}

// pollSeconds is how often the dashboard asks for fresh figures; with the
// county workflows' progress reports (ProgressEvery, 60 s by default) it
// makes the dashboard at most about a minute behind.
const pollSeconds = 10

// regionNames maps region codes to names, for pages that list counties.
func (k *Console) regionNames(c *gin.Context) (map[string]string, []library.Region, error) {
	var regions apiPage[library.Region]
	if err := k.call(c, http.MethodGet, "/api/v1/regions?limit=500", nil, &regions); err != nil {
		return nil, nil, err
	}
	names := map[string]string{"": "（未分配）"}
	for _, r := range regions.Items {
		names[r.Code] = r.Name
	}
	return names, regions.Items, nil
}

func (k *Console) loadDashboard(c *gin.Context) (dashboardPage, error) {
	var d dashboardPage
	path := "/api/v1/dashboard"
	if y := c.Query("year"); y != "" {
		path += "?year=" + url.QueryEscape(y)
	}
	if err := k.call(c, http.MethodGet, path, nil, &d.dashboardData); err != nil {
		return d, err
	}
	names, _, err := k.regionNames(c)
	if err != nil {
		return d, err
	}
	d.Names, d.Polled = names, pollSeconds
	d.Chart = chartOf(d.dashboardData, names)
	d.Closed = d.Total.Stages[inspection.Closed]
	d.Awaiting, d.Assigned = d.Total.Stages[inspection.AwaitingMatch], d.Total.Stages[inspection.Assigned]
	return d, nil
}

func (k *Console) dashboard(c *gin.Context) {
	d, err := k.loadDashboard(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	k.page(c, http.StatusOK, "dashboard", fmt.Sprintf("工作台（%d 年度）", d.Year), nil, d)
}

// dashboardJSON is what the dashboard's script polls: the chart's data
// and the figures it updates in place.
func (k *Console) dashboardJSON(c *gin.Context) {
	d, err := k.loadDashboard(c)
	if err != nil {
		if ae := refusal(err); ae != nil {
			c.JSON(ae.Status, gin.H{"message": ae.Detail})
			return
		}
		c.JSON(http.StatusInternalServerError, gin.H{"message": "系统暂时无法取得最新进度"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"chart": d.Chart, "total": d.Total.Objects, "closed": d.Closed, "awaiting": d.Awaiting, "assigned": d.Assigned,
		"overdue": sum(d.Total.Overdue), "due_soon": d.DueSoon.DueSoon, "due_overdue": d.DueSoon.Overdue, "today": d.Today})
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

type ruleForm struct {
	Items    map[string]bool // "CODE@VERSION" chosen
	Regions  map[string]bool
	Kinds    map[string]bool
	Tags     string
	Strata   map[string]bool
	Quotas   []quotaRow
	Window   string
	AllItems []library.CheckItem
	Counties []library.Region
}

type quotaRow struct {
	When, Ratio, Count, Min string
}

const quotaRows = 4

// readRules turns the rules part of a form into the API's draw rules; it
// only restates the form, the API validates.
func readRules(c *gin.Context) (batch.Rules, ruleForm) {
	f := ruleForm{Items: map[string]bool{}, Regions: map[string]bool{}, Kinds: map[string]bool{}, Strata: map[string]bool{},
		Tags: strings.TrimSpace(c.PostForm("tags")), Window: strings.TrimSpace(c.PostForm("window_days"))}
	r := batch.Rules{Items: []batch.ItemRef{}, StrataKeys: []string{}, Quotas: []batch.QuotaRule{}}
	for _, v := range c.PostFormArray("item") {
		f.Items[v] = true
		code, ver, _ := strings.Cut(v, "@")
		n, _ := strconv.Atoi(ver)
		r.Items = append(r.Items, batch.ItemRef{Code: code, Version: n})
	}
	for _, v := range c.PostFormArray("region") {
		f.Regions[v] = true
		r.Filter.Regions = append(r.Filter.Regions, v)
	}
	for _, v := range c.PostFormArray("kind") {
		f.Kinds[v] = true
		r.Filter.Kinds = append(r.Filter.Kinds, v)
	}
	for _, t := range strings.FieldsFunc(f.Tags, func(r rune) bool { return r == ',' || r == '，' || r == ' ' }) {
		r.Filter.Tags = append(r.Filter.Tags, t)
	}
	for _, v := range c.PostFormArray("stratum") {
		f.Strata[v] = true
		r.StrataKeys = append(r.StrataKeys, v)
	}
	for i := range quotaRows {
		q := quotaRow{When: strings.TrimSpace(c.PostForm(fmt.Sprintf("q%d_when", i))), Ratio: strings.TrimSpace(c.PostForm(fmt.Sprintf("q%d_ratio", i))),
			Count: strings.TrimSpace(c.PostForm(fmt.Sprintf("q%d_count", i))), Min: strings.TrimSpace(c.PostForm(fmt.Sprintf("q%d_min", i)))}
		f.Quotas = append(f.Quotas, q)
		if q.Ratio == "" && q.Count == "" {
			continue
		}
		rule := batch.QuotaRule{Ratio: q.Ratio}
		if q.When != "" {
			rule.When = map[string]string{}
			for _, cond := range strings.FieldsFunc(q.When, func(r rune) bool { return r == ',' || r == '，' || r == ';' || r == '；' }) {
				key, val, _ := strings.Cut(cond, "=")
				rule.When[strings.TrimSpace(key)] = strings.TrimSpace(val)
			}
		}
		if q.Count != "" {
			n, err := strconv.Atoi(q.Count)
			if err != nil {
				n = -1 // the API names the field
			}
			rule.Count = &n
		}
		if q.Min != "" {
			rule.Min, _ = strconv.Atoi(q.Min)
		}
		r.Quotas = append(r.Quotas, rule)
	}
	if f.Window != "" {
		if n, err := strconv.Atoi(f.Window); err == nil {
			r.Exclusions.WindowDays = &n
		}
	}
	return r, f
}

// ruleChoices fills the form's lists: the published item versions and
// the counties.
func (k *Console) ruleChoices(c *gin.Context, f *ruleForm) error {
	var items apiPage[library.CheckItem]
	if err := k.call(c, http.MethodGet, "/api/v1/check-items?limit=500&on="+k.now().In(chinaTZ).Format("2006-01-02"), nil, &items); err != nil {
		return err
	}
	f.AllItems = items.Items
	_, regions, err := k.regionNames(c)
	if err != nil {
		return err
	}
	for _, r := range regions {
		if r.ParentCode != "" {
			f.Counties = append(f.Counties, r)
		}
	}
	return nil
}

// stratumName writes a stratum's label (item=ZR-01;region=330402;risk=high)
// as people name it: 土地复垦… · 南湖区 · 高风险.
func stratumName(label string, names map[string]string) string {
	var parts []string
	for _, kv := range strings.Split(label, ";") {
		k, v, _ := strings.Cut(kv, "=")
		zh := v
		switch {
		case k == "region" && names[v] != "":
			zh = names[v]
		case k == "risk" && library.RiskLevels.Chinese(v) != "":
			zh = library.RiskLevels.Chinese(v) + "风险"
		case k == "credit" && library.CreditClasses.Chinese(v) != "":
			zh = "信用" + library.CreditClasses.Chinese(v)
		case strings.HasPrefix(k, "tag:"):
			zh = strings.TrimPrefix(k, "tag:") + "：" + v
		}
		parts = append(parts, zh)
	}
	return strings.Join(parts, " · ")
}

type newBatchPage struct {
	Names         map[string]string
	Form          ruleForm
	ID, Name, End string
	BeaconWait    string
	// The deadline policy's fields the form offers (empty: the defaults).
	ResultDays, Reminders, RemindAt string
	Simulation                      *batch.Simulation
	Problem                         *apiError
	Idem                            string
}

// policy restates the form's policy fields as the API's policy; a number
// that is not one goes as -1, which the API names.
func (p newBatchPage) policy() map[string]any {
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			return -1
		}
		return n
	}
	policy := map[string]any{}
	if p.BeaconWait != "" {
		policy["beacon_wait_minutes"] = num(p.BeaconWait)
	}
	if p.ResultDays != "" {
		policy["result_entry_days"] = num(p.ResultDays)
	}
	if p.Reminders != "" {
		offsets := []int{}
		for _, f := range strings.FieldsFunc(p.Reminders, func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == ' ' }) {
			offsets = append(offsets, num(f))
		}
		policy["reminder_offsets"] = offsets
	}
	if p.RemindAt != "" {
		policy["reminder_time"] = p.RemindAt
	}
	return policy
}

func (k *Console) newBatchForm(c *gin.Context) {
	p := newBatchPage{Form: ruleForm{Items: map[string]bool{}, Regions: map[string]bool{}, Kinds: map[string]bool{}, Strata: map[string]bool{"region": true},
		Quotas: make([]quotaRow, quotaRows)}, Idem: newNonce()}
	p.Form.Quotas[0] = quotaRow{Ratio: "0.05", Min: "1"}
	if err := k.ruleChoices(c, &p.Form); err != nil {
		k.fail(c, err)
		return
	}
	k.page(c, http.StatusOK, "batch_new", "新建批次", []Crumb{{Name: "新建批次"}}, p)
}

// newBatch previews the draw (action=simulate) or commits the batch
// (action=create): nothing is stored before the second.
func (k *Console) newBatch(c *gin.Context) {
	rules, f := readRules(c)
	p := newBatchPage{Form: f, ID: strings.TrimSpace(c.PostForm("id")), Name: strings.TrimSpace(c.PostForm("name")),
		End: strings.TrimSpace(c.PostForm("inspection_end")), BeaconWait: strings.TrimSpace(c.PostForm("beacon_wait")), Idem: c.PostForm("idem"),
		ResultDays: strings.TrimSpace(c.PostForm("result_entry_days")), Reminders: strings.TrimSpace(c.PostForm("reminder_offsets")),
		RemindAt: strings.TrimSpace(c.PostForm("reminder_time"))}
	if p.Idem == "" {
		p.Idem = newNonce()
	}
	if err := k.ruleChoices(c, &p.Form); err != nil {
		k.fail(c, err)
		return
	}
	status := http.StatusOK
	if c.PostForm("action") == "create" {
		body := map[string]any{"id": p.ID, "name": p.Name, "rules": rules, "inspection_end": p.End}
		if policy := p.policy(); len(policy) > 0 {
			body["policy"] = policy
		}
		var b batch.Batch
		err := k.call(c, http.MethodPost, "/api/v1/batches", body, &b, "Idempotency-Key", "console-"+p.Idem)
		if err == nil {
			done(c, "/console/batches/"+url.PathEscape(b.ID), "批次已创建，承诺值已公布；请在抽取前录入公开随机值。")
			return
		}
		if p.Problem = refusal(err); p.Problem == nil {
			k.fail(c, err)
			return
		}
		status = p.Problem.Status
	}
	var sim batch.Simulation
	if err := k.call(c, http.MethodPost, "/api/v1/draw-simulations", map[string]any{"rules": rules}, &sim); err != nil {
		if pr := refusal(err); pr != nil {
			if p.Problem == nil {
				p.Problem, status = pr, pr.Status
			}
		} else {
			k.fail(c, err)
			return
		}
	} else {
		p.Simulation = &sim
		if p.Names, _, err = k.regionNames(c); err != nil {
			k.fail(c, err)
			return
		}
	}
	k.page(c, status, "batch_new", "新建批次", []Crumb{{Name: "新建批次"}}, p)
}

// batchDetail is GET /api/v1/batches/{id} (a batch with its calendar
// warning).
type batchDetail struct {
	batch.Batch
	CalendarWarning *struct {
		Year    int    `json:"year"`
		Message string `json:"message"`
	} `json:"calendar_warning"`
}

type taskLine struct {
	ObjectKey      string        `json:"object_key"`
	ObjectName     string        `json:"object_name"`
	County         string        `json:"county"`
	Stage          string        `json:"stage"`
	InspectionDue  *workday.Date `json:"inspection_due"`
	ResultDue      *workday.Date `json:"result_due"`
	FollowUpDue    *workday.Date `json:"follow_up_due"`
	PublicationDue *workday.Date `json:"publication_due"`
	// FollowUpCompletionDue: the follow-up itself is completed by then.
	FollowUpCompletionDue *workday.Date `json:"follow_up_completion_due"`
	Overdue               []string      `json:"overdue"`
}

type batchPageData struct {
	Batch    batchDetail
	Progress *stats.Progress
	Tasks    []taskLine
	// Notifications are the batch's reminders and escalations, newest
	// first, for the roles that may read them (nil for the others).
	Notifications []notify.Sent
	Names         map[string]string
	Problem       *apiError
	Beacon        string
}

func (k *Console) batch(c *gin.Context) {
	k.showBatch(c, http.StatusOK, nil, "")
}

func (k *Console) showBatch(c *gin.Context, status int, problem *apiError, beacon string) {
	id := c.Param("id")
	p := batchPageData{Problem: problem, Beacon: beacon}
	if err := k.call(c, http.MethodGet, "/api/v1/batches/"+url.PathEscape(id), nil, &p.Batch); err != nil {
		k.fail(c, err)
		return
	}
	names, _, err := k.regionNames(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	p.Names = names
	if p.Batch.LockedAt != nil {
		var pr stats.Progress
		if err := k.call(c, http.MethodGet, "/api/v1/batches/"+url.PathEscape(id)+"/progress", nil, &pr); err != nil {
			k.fail(c, err)
			return
		}
		p.Progress = &pr
		var tasks apiPage[taskLine]
		if err := k.call(c, http.MethodGet, "/api/v1/batches/"+url.PathEscape(id)+"/tasks?limit=100", nil, &tasks); err != nil {
			k.fail(c, err)
			return
		}
		p.Tasks = tasks.Items
		var notes apiPage[notify.Sent]
		err := k.call(c, http.MethodGet, "/api/v1/notifications?limit=20&batch="+url.QueryEscape(id), nil, &notes)
		if ae := refusal(err); ae != nil && ae.Status == http.StatusForbidden {
			err = nil // a role that reads no notifications
		}
		if err != nil {
			k.fail(c, err)
			return
		}
		p.Notifications = notes.Items
	}
	title := "批次 " + p.Batch.ID
	if p.Batch.Name != "" {
		title += " " + p.Batch.Name
	}
	k.page(c, status, "batch", title, []Crumb{{Name: "批次 " + p.Batch.ID}}, p)
}

func (k *Console) beacon(c *gin.Context) {
	id := c.Param("id")
	value := strings.TrimSpace(c.PostForm("beacon"))
	err := k.call(c, http.MethodPost, "/api/v1/batches/"+url.PathEscape(id)+"/beacon", map[string]string{"beacon": value}, nil)
	if pr := refusal(err); pr != nil {
		k.showBatch(c, pr.Status, pr, value)
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	done(c, "/console/batches/"+url.PathEscape(id), "公开随机值已录入，系统将随即抽取并公布抽取证明。")
}

func (k *Console) extend(c *gin.Context) {
	id, key := c.Param("id"), c.Param("key")
	days, err := strconv.Atoi(strings.TrimSpace(c.PostForm("working_days")))
	if err != nil {
		days = 0 // the API says what is wrong
	}
	var task taskLine // the task as it stands after the extension
	duty := c.PostForm("duty")
	err = k.call(c, http.MethodPost, "/api/v1/batches/"+url.PathEscape(id)+"/tasks/"+url.PathEscape(key)+"/extensions",
		map[string]any{"duty": duty, "working_days": days, "reason": strings.TrimSpace(c.PostForm("reason"))}, &task,
		"Idempotency-Key", fmt.Sprintf("console-%s-%s-%d", c.PostForm("idem"), c.PostForm("duty"), days))
	if pr := refusal(err); pr != nil {
		k.showBatch(c, pr.Status, pr, "")
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	due := map[string]*workday.Date{"inspection": task.InspectionDue, "result_entry": task.ResultDue,
		"follow_up_entry": task.FollowUpDue, "publication": task.PublicationDue, "follow_up": task.FollowUpCompletionDue}[duty]
	what := "期限已延长。"
	if due != nil {
		what = "期限已延长，" + task.ObjectName + "（" + key + "）的" + inspection.DutyNames[duty] + "期限现为 " + chineseDate(due.String()) + "。"
	}
	done(c, "/console/batches/"+url.PathEscape(id), what)
}

// --- 年度计划 ---

type plansPageData struct {
	Plans   []plan.Plan
	Year    int
	Form    ruleForm
	Problem *apiError
	Input   map[string]string
	Idem    string
}

func (k *Console) plans(c *gin.Context) {
	k.showPlans(c, http.StatusOK, nil, nil, ruleForm{})
}

func (k *Console) showPlans(c *gin.Context, status int, problem *apiError, input map[string]string, f ruleForm) {
	p := plansPageData{Year: k.now().In(chinaTZ).Year(), Problem: problem, Input: input, Form: f, Idem: newNonce()}
	if p.Input == nil {
		p.Input = map[string]string{"year": strconv.Itoa(p.Year)}
	}
	if p.Form.Items == nil {
		p.Form = ruleForm{Items: map[string]bool{}, Regions: map[string]bool{}, Kinds: map[string]bool{}, Strata: map[string]bool{"region": true}, Quotas: make([]quotaRow, quotaRows)}
		p.Form.Quotas[0] = quotaRow{Ratio: "0.05", Min: "1"}
	}
	var list apiPage[plan.Plan]
	if err := k.call(c, http.MethodGet, "/api/v1/plans", nil, &list); err != nil {
		k.fail(c, err)
		return
	}
	p.Plans = list.Items
	if err := k.ruleChoices(c, &p.Form); err != nil {
		k.fail(c, err)
		return
	}
	k.page(c, status, "plans", "年度计划", []Crumb{{Name: "年度计划"}}, p)
}

func (k *Console) createPlan(c *gin.Context) {
	rules, f := readRules(c)
	in := map[string]string{}
	for _, n := range []string{"id", "year", "name", "inspection_start", "inspection_end", "b_name", "b_draw_at", "notes", "department"} {
		in[n] = strings.TrimSpace(c.PostForm(n))
	}
	year, _ := strconv.Atoi(in["year"])
	body := map[string]any{"id": in["id"], "year": year, "name": in["name"], "rules": rules, "inspection_start": in["inspection_start"],
		"inspection_end": in["inspection_end"], "notes": in["notes"], "joint_departments": []string{}, "batches": []map[string]any{}}
	if in["department"] != "" {
		body["department_code"] = in["department"]
	}
	if in["b_draw_at"] != "" {
		body["batches"] = []map[string]any{{"seq": 1, "name": in["b_name"], "draw_at": in["b_draw_at"]}}
	}
	var pl plan.Plan
	err := k.call(c, http.MethodPost, "/api/v1/plans", body, &pl, "Idempotency-Key", "console-"+c.PostForm("idem"))
	if pr := refusal(err); pr != nil {
		k.showPlans(c, pr.Status, pr, in, f)
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	done(c, "/console/plans/"+url.PathEscape(pl.ID), "计划已创建（草稿）。")
}

type planPageData struct {
	Plan    plan.Plan
	Problem *apiError
	Idem    string
}

func (k *Console) plan(c *gin.Context) { k.showPlan(c, http.StatusOK, nil) }

func (k *Console) showPlan(c *gin.Context, status int, problem *apiError) {
	p := planPageData{Problem: problem, Idem: newNonce()}
	if err := k.call(c, http.MethodGet, "/api/v1/plans/"+url.PathEscape(c.Param("id")), nil, &p.Plan); err != nil {
		k.fail(c, err)
		return
	}
	k.page(c, status, "plan", p.Plan.Name, []Crumb{{Name: "年度计划", Href: "/console/plans"}, {Name: p.Plan.ID}}, p)
}

var planActions = map[string]string{
	"submit": "计划已提交审核。", "return": "计划已退回修改。", "approve": "计划已审核通过。", "publish": "计划已公布。",
	"start": "计划已启动，各批次将按计划时间抽取。", "pause": "计划已暂停。", "resume": "计划已恢复。", "cancel": "计划已取消。",
}

func (k *Console) planAction(c *gin.Context) {
	id, action := c.Param("id"), c.Param("action")
	msg, ok := planActions[action]
	if !ok {
		k.page(c, http.StatusNotFound, "error", consoleTitles[404], nil, errorPage{Status: 404, Message: "没有这个操作。"})
		return
	}
	err := k.call(c, http.MethodPost, "/api/v1/plans/"+url.PathEscape(id)+"/"+action, map[string]any{}, nil, "Idempotency-Key", "console-"+c.PostForm("idem"))
	if pr := refusal(err); pr != nil {
		k.showPlan(c, pr.Status, pr)
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	done(c, "/console/plans/"+url.PathEscape(id), msg)
}

// --- 工作日历 ---

type calendarData struct {
	Items []workday.YearInfo `json:"items"`
	// Missing are this year and next year without a schedule.
	Missing  []int `json:"missing_years"`
	Warnings []struct {
		Year    int    `json:"year"`
		Message string `json:"message"`
	} `json:"warnings"`
}

type calendarPage struct {
	calendarData
	Problem *apiError
	Input   map[string]string
}

func (k *Console) calendar(c *gin.Context) { k.showCalendar(c, http.StatusOK, nil, nil) }

func (k *Console) showCalendar(c *gin.Context, status int, problem *apiError, in map[string]string) {
	p := calendarPage{Problem: problem, Input: in}
	if err := k.call(c, http.MethodGet, "/api/v1/calendar/years", nil, &p.calendarData); err != nil {
		k.fail(c, err)
		return
	}
	if p.Input == nil {
		p.Input = map[string]string{}
		if len(p.Missing) > 0 {
			p.Input["year"] = strconv.Itoa(p.Missing[0])
		}
	}
	k.page(c, status, "calendar", "工作日历", []Crumb{{Name: "工作日历"}}, p)
}

// dates reads a list of ISO dates separated by spaces, commas or lines.
func dates(s string) []string {
	out := []string{}
	for _, d := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == '、' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	}) {
		out = append(out, d)
	}
	return out
}

func (k *Console) putCalendar(c *gin.Context) {
	in := map[string]string{"year": strings.TrimSpace(c.PostForm("year")), "source": strings.TrimSpace(c.PostForm("source")),
		"holidays": c.PostForm("holidays"), "makeup": c.PostForm("makeup")}
	year, err := strconv.Atoi(in["year"])
	if err != nil || year < 2000 || year > 2100 {
		k.showCalendar(c, http.StatusBadRequest, &apiError{Status: 400, Detail: "请填写年份，例如 2027。"}, in)
		return
	}
	body := map[string]any{"source": in["source"], "holidays": dates(in["holidays"]), "makeup_workdays": dates(in["makeup"])}
	err = k.call(c, http.MethodPut, "/api/v1/calendar/years/"+strconv.Itoa(year), body, nil)
	if pr := refusal(err); pr != nil {
		k.showCalendar(c, pr.Status, pr, in)
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	done(c, "/console/calendar", fmt.Sprintf("%d 年的工作日安排已保存。", year))
}

// --- 联系人 ---

type contactsPage struct {
	Contacts []notify.Contact
	Counties []library.Region
	Problem  *apiError
	Input    map[string]string
}

func (k *Console) contacts(c *gin.Context) { k.showContacts(c, http.StatusOK, nil, nil) }

func (k *Console) showContacts(c *gin.Context, status int, problem *apiError, in map[string]string) {
	p := contactsPage{Problem: problem, Input: in}
	if p.Input == nil {
		p.Input = map[string]string{"channel": "dingtalk", "delivery": "immediate"}
	}
	var list apiPage[notify.Contact]
	if err := k.call(c, http.MethodGet, "/api/v1/contacts?limit=500", nil, &list); err != nil {
		k.fail(c, err)
		return
	}
	p.Contacts = list.Items
	_, regions, err := k.regionNames(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	p.Counties = regions
	k.page(c, status, "contacts", "联系人", []Crumb{{Name: "联系人"}}, p)
}

func (k *Console) createContact(c *gin.Context) {
	in := map[string]string{}
	for _, n := range []string{"region_code", "role", "name", "channel", "address", "secret", "mobile", "delivery"} {
		in[n] = strings.TrimSpace(c.PostForm(n))
	}
	body := map[string]any{}
	for n, v := range in {
		if v != "" {
			body[n] = v
		}
	}
	err := k.call(c, http.MethodPost, "/api/v1/contacts", body, nil)
	in["secret"] = ""
	if pr := refusal(err); pr != nil {
		k.showContacts(c, pr.Status, pr, in)
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	done(c, "/console/contacts", "联系人已添加。")
}

func (k *Console) deleteContact(c *gin.Context) {
	err := k.call(c, http.MethodDelete, "/api/v1/contacts/"+url.PathEscape(c.Param("id")), nil, nil)
	if pr := refusal(err); pr != nil {
		k.showContacts(c, pr.Status, pr, nil)
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	done(c, "/console/contacts", "联系人已删除。")
}

// --- 检查事项 ---

func (k *Console) items(c *gin.Context) {
	var list apiPage[library.CheckItem]
	if err := k.call(c, http.MethodGet, "/api/v1/check-items?limit=500", nil, &list); err != nil {
		k.fail(c, err)
		return
	}
	k.page(c, http.StatusOK, "items", "检查事项", []Crumb{{Name: "检查事项"}}, list.Items)
}

// --- 名录库 ---

type libraryPage struct {
	Which      string // objects or inspectors
	Q          string
	Objects    []library.Object
	Inspectors []library.Inspector
	Next       string
	Names      map[string]string
	Problem    *apiError
	Imported   string
	Idem       string
}

func (k *Console) library(c *gin.Context) { k.showLibrary(c, http.StatusOK, nil, "") }

func (k *Console) showLibrary(c *gin.Context, status int, problem *apiError, imported string) {
	p := libraryPage{Which: c.DefaultQuery("which", "objects"), Q: strings.TrimSpace(c.Query("q")), Problem: problem, Imported: imported, Idem: newNonce()}
	if c.Request.Method == http.MethodPost {
		p.Which = c.PostForm("which")
	}
	if p.Which != "inspectors" {
		p.Which = "objects"
	}
	q := url.Values{"limit": {"50"}}
	if p.Q != "" {
		q.Set("q", p.Q)
	}
	if cur := c.Query("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	var next string
	if p.Which == "objects" {
		var list apiPage[library.Object]
		if err := k.call(c, http.MethodGet, "/api/v1/objects?"+q.Encode(), nil, &list); err != nil {
			if p.Problem = refusal(err); p.Problem == nil {
				k.fail(c, err)
				return
			}
		}
		p.Objects, next = list.Items, list.NextCursor
	} else {
		var list apiPage[library.Inspector]
		if err := k.call(c, http.MethodGet, "/api/v1/inspectors?"+q.Encode(), nil, &list); err != nil {
			if p.Problem = refusal(err); p.Problem == nil {
				k.fail(c, err)
				return
			}
		}
		p.Inspectors, next = list.Items, list.NextCursor
	}
	if next != "" {
		p.Next = "/console/library?" + url.Values{"which": {p.Which}, "q": {p.Q}, "cursor": {next}}.Encode()
	}
	names, _, err := k.regionNames(c)
	if err != nil {
		k.fail(c, err)
		return
	}
	p.Names = names
	k.page(c, status, "library", "名录库", []Crumb{{Name: "名录库"}}, p)
}

// importLibrary hands the chosen file to the API's import, as it came:
// the API checks it whole and names every wrong row and column.
func (k *Console) importLibrary(c *gin.Context) {
	which := c.PostForm("which")
	if which != "inspectors" {
		which = "objects"
	}
	fh, err := c.FormFile("file")
	if err != nil {
		k.showLibrary(c, http.StatusBadRequest, &apiError{Status: 400, Detail: "请选择要导入的文件（CSV 或 XLSX）。"}, "")
		return
	}
	f, err := fh.Open()
	if err != nil {
		k.fail(c, err)
		return
	}
	defer f.Close()
	body, ct, err := uploadBody(fh.Filename, f)
	if err != nil {
		k.fail(c, err)
		return
	}
	defer body.Close()
	path := "/api/v1/" + which + "/import"
	if c.PostForm("dry_run") != "" {
		path += "?dry_run=true"
	}
	var out map[string]any
	err = k.call(c, http.MethodPost, path, multipartBody{r: body, contentType: ct}, &out, "Idempotency-Key", "console-"+c.PostForm("idem"))
	if pr := refusal(err); pr != nil {
		k.showLibrary(c, pr.Status, pr, "")
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	what := "导入完成"
	if c.PostForm("dry_run") != "" {
		what = "检查通过（未写入）"
	}
	done(c, "/console/library?which="+which, fmt.Sprintf("%s：%s", what, importSummary(out)))
}

func importSummary(out map[string]any) string {
	var parts []string
	for _, f := range []struct{ key, name string }{{"rows", "行数"}, {"created", "新增"}, {"updated", "更新"}, {"unchanged", "未变"}} {
		if v, ok := out[f.key]; ok {
			parts = append(parts, fmt.Sprintf("%s %v", f.name, v))
		}
	}
	if len(parts) == 0 {
		return "已处理"
	}
	return strings.Join(parts, "，")
}

// --- 年度统计 ---

type statisticsPage struct {
	Year   int
	Years  []int
	Report stats.Report
	Chart  chartData
}

func (k *Console) statistics(c *gin.Context) {
	p := statisticsPage{Year: k.now().In(chinaTZ).Year()}
	if y, err := strconv.Atoi(c.Query("year")); err == nil {
		p.Year = y
	}
	for y := k.now().In(chinaTZ).Year(); y >= k.now().In(chinaTZ).Year()-4; y-- {
		p.Years = append(p.Years, y)
	}
	if err := k.call(c, http.MethodGet, "/api/v1/statistics?year="+strconv.Itoa(p.Year), nil, &p.Report); err != nil {
		k.fail(c, err)
		return
	}
	p.Chart = chartData{Counties: []string{}, Overdue: []int{}}
	drawn, inspected, published := chartSeries{Name: "抽中", Data: []int{}}, chartSeries{Name: "已检查", Data: []int{}}, chartSeries{Name: "已公示", Data: []int{}}
	for _, f := range p.Report.Counties {
		p.Chart.Counties = append(p.Chart.Counties, f.Name)
		drawn.Data, inspected.Data, published.Data = append(drawn.Data, f.Drawn), append(inspected.Data, f.Inspected), append(published.Data, f.Published)
		p.Chart.Overdue = append(p.Chart.Overdue, f.Overdue)
	}
	p.Chart.Series = []chartSeries{drawn, inspected, published}
	k.page(c, http.StatusOK, "statistics", fmt.Sprintf("%d 年度统计", p.Year), []Crumb{{Name: "年度统计"}}, p)
}

// downloads are the API's files a page links to; the console fetches them
// as the session's holder.
var downloads = map[string]bool{
	"accountability.xlsx": true, "statistics.xlsx": true, "objects/export": true, "inspectors/export": true,
	"objects/import-template": true, "inspectors/import-template": true,
}

// downloadable reports whether path (under /api/v1/) is one of the files
// a page links to: the fixed ones, a batch's progress sheet and a county's
// match proofs (JSON, for spotcheck verify-match).
func downloadable(path string) bool {
	if downloads[path] {
		return true
	}
	id, rest, found := strings.Cut(strings.TrimPrefix(path, "batches/"), "/")
	if !strings.HasPrefix(path, "batches/") || !found || id == "" {
		return false
	}
	if rest == "progress.xlsx" {
		return true
	}
	county, file, _ := strings.Cut(strings.TrimPrefix(rest, "counties/"), "/")
	return strings.HasPrefix(rest, "counties/") && county != "" && file == "match-proof"
}

func (k *Console) download(c *gin.Context) {
	path := strings.TrimPrefix(c.Param("path"), "/")
	if !downloadable(path) {
		k.page(c, http.StatusNotFound, "error", consoleTitles[404], nil, errorPage{Status: 404, Message: "没有这个下载。"})
		return
	}
	target := "/api/v1/" + path
	if c.Request.URL.RawQuery != "" {
		target += "?" + c.Request.URL.RawQuery
	}
	rec, err := k.do(c, http.MethodGet, target, nil, "")
	if err != nil {
		k.fail(c, err)
		return
	}
	if rec.Code >= 300 {
		k.fail(c, problemOf(rec, http.MethodGet, target))
		return
	}
	for _, h := range []string{"Content-Type", "Content-Disposition"} {
		c.Header(h, rec.Header().Get(h))
	}
	c.Data(http.StatusOK, rec.Header().Get("Content-Type"), rec.Body.Bytes())
}

// --- 用户 (admin) ---

type usersPage struct {
	Users   []userLine
	Problem *apiError
	Input   map[string]string
}

type userLine struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	DisplayName string  `json:"display_name"`
	Role        string  `json:"role"`
	County      string  `json:"county"`
	Department  string  `json:"department"`
	Inspector   string  `json:"inspector_key"`
	LockedUntil *string `json:"locked_until"`
	CreatedBy   string  `json:"created_by"`
}

func (k *Console) users(c *gin.Context) { k.showUsers(c, http.StatusOK, nil, nil) }

func (k *Console) showUsers(c *gin.Context, status int, problem *apiError, in map[string]string) {
	p := usersPage{Problem: problem, Input: in}
	if p.Input == nil {
		p.Input = map[string]string{"role": "county_officer"}
	}
	var list apiPage[userLine]
	if err := k.call(c, http.MethodGet, "/api/v1/users", nil, &list); err != nil {
		k.fail(c, err)
		return
	}
	p.Users = list.Items
	k.page(c, status, "users", "用户管理", []Crumb{{Name: "用户管理"}}, p)
}

func (k *Console) createUser(c *gin.Context) {
	in := map[string]string{}
	for _, n := range []string{"username", "display_name", "role", "county", "department", "inspector", "password"} {
		in[n] = strings.TrimSpace(c.PostForm(n))
	}
	body := map[string]string{}
	for n, v := range in {
		if v != "" {
			body[n] = v
		}
	}
	err := k.call(c, http.MethodPost, "/api/v1/users", body, nil)
	in["password"] = ""
	if pr := refusal(err); pr != nil {
		k.showUsers(c, pr.Status, pr, in)
		return
	}
	if err != nil {
		k.fail(c, err)
		return
	}
	done(c, "/console/users", "用户 "+in["username"]+" 已创建。")
}
