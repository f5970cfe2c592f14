package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/spotcheck-gov/spotcheck/internal/archive"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/disclosure"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
)

const resultsPerPage = 20

type homePage struct {
	Year      int
	Plan      disclosure.CityPlan
	Batches   []disclosure.Batch
	Published int
}

func (p *Portal) home(c *gin.Context) {
	if _, err := query(c); err != nil {
		p.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	hp := homePage{Year: p.thisYear()}
	var err error
	if hp.Plan, err = p.store.CityPlan(ctx, hp.Year); err == nil {
		if hp.Batches, _, err = p.store.Batches(ctx, "", 5); err == nil {
			hp.Published, err = p.store.PublishedIn(ctx, hp.Year)
		}
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	p.render(c, http.StatusOK, "home", "“双随机、一公开”公示", nil, hp)
}

func (p *Portal) items(c *gin.Context) {
	if _, err := query(c); err != nil {
		p.fail(c, err)
		return
	}
	var all []disclosure.Item
	for after := ""; ; {
		page, next, err := p.store.Items(c.Request.Context(), after, 500)
		if err != nil {
			p.fail(c, err)
			return
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	p.render(c, http.StatusOK, "items", "抽查事项清单", []Crumb{{Name: "抽查事项清单"}}, all)
}

// A version is an item version with what changed from the one before.
type version struct {
	disclosure.Item
	Changes []disclosure.Change
}

func (p *Portal) item(c *gin.Context) {
	if _, err := query(c); err != nil {
		p.fail(c, err)
		return
	}
	items, err := p.store.ItemVersions(c.Request.Context(), c.Param("code"))
	if err != nil {
		p.fail(c, err)
		return
	}
	vs := make([]version, len(items))
	for i, it := range items {
		vs[i].Item = it
		if i > 0 {
			vs[i].Changes = disclosure.Changes(items[i-1], it)
		}
	}
	last := items[len(items)-1]
	p.render(c, http.StatusOK, "item", last.Code+" "+last.Name, []Crumb{{Name: "抽查事项清单", Href: "/items"}, {Name: last.Code}}, vs)
}

type plansPage struct {
	disclosure.CityPlan
	Years []int
}

func (p *Portal) plans(c *gin.Context) {
	q, err := query(c, "year")
	year := 0
	if err == nil {
		year, err = yearParam(q["year"])
	}
	if err != nil {
		p.fail(c, err)
		return
	}
	if year == 0 {
		year = p.thisYear()
	}
	city, err := p.store.CityPlan(c.Request.Context(), year)
	if err != nil {
		p.fail(c, err)
		return
	}
	pp := plansPage{CityPlan: city}
	for y := p.thisYear() + 1; y >= p.thisYear()-4; y-- {
		pp.Years = append(pp.Years, y)
	}
	p.render(c, http.StatusOK, "plans", city.Title, []Crumb{{Name: "年度抽查计划"}}, pp)
}

func (p *Portal) batches(c *gin.Context) {
	q, err := query(c, "cursor")
	if err != nil {
		p.fail(c, err)
		return
	}
	list, next, err := p.store.Batches(c.Request.Context(), q["cursor"], 50)
	if err != nil {
		p.fail(c, err)
		return
	}
	body := struct {
		Batches []disclosure.Batch
		Next    string
	}{list, ""}
	if next != "" {
		body.Next = "/batches?cursor=" + url.QueryEscape(next)
	}
	p.render(c, http.StatusOK, "batches", "抽查任务公告", []Crumb{{Name: "抽查任务公告"}}, body)
}

type batchPage struct {
	disclosure.Batch
	Drawn      []batch.DrawnObject
	Next       string // the drawn list's next page
	First      bool   // the drawn list's first page
	HasSummary bool
	County     map[string]string // county names by code, from the lock
}

func (p *Portal) batch(c *gin.Context) {
	q, err := query(c, "after")
	if err != nil {
		p.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	b, err := p.store.Batch(ctx, c.Param("id"))
	if err != nil {
		p.fail(c, err)
		return
	}
	bp := batchPage{Batch: b, First: q["after"] == "", County: map[string]string{}}
	for _, cc := range b.Counties {
		bp.County[cc.CountyCode] = cc.CountyName
	}
	if b.Drawn() {
		var next string
		bp.Drawn, next, err = p.store.Drawn(ctx, b.ID, "", q["after"], 100)
		if err != nil {
			p.fail(c, err)
			return
		}
		if next != "" {
			bp.Next = "/batches/" + url.PathEscape(b.ID) + "?after=" + next
		}
	}
	if bp.HasSummary, err = p.hasSummary(ctx, b.ID); err != nil {
		p.fail(c, err)
		return
	}
	title := "抽查任务公告：" + b.ID
	if b.Name != "" {
		title += " " + b.Name
	}
	p.render(c, http.StatusOK, "batch", title, []Crumb{{Name: "抽查任务公告", Href: "/batches"}, {Name: b.ID}}, bp)
}

func (p *Portal) hasSummary(ctx context.Context, id string) (bool, error) {
	_, err := p.store.Summary(ctx, id)
	if fault.KindOf(err) == fault.NotFound {
		return false, nil
	}
	return err == nil, err
}

type summaryPage struct {
	Batch   disclosure.Batch
	Summary archive.Summary
	Names   map[string]string
	Total   archive.CountySummary
}

func (p *Portal) summary(c *gin.Context) {
	if _, err := query(c); err != nil {
		p.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	b, err := p.store.Batch(ctx, c.Param("id"))
	if err != nil {
		p.fail(c, err)
		return
	}
	sum, err := p.store.Summary(ctx, b.ID)
	if err != nil {
		p.fail(c, err)
		return
	}
	sp := summaryPage{Batch: b, Summary: sum, Names: map[string]string{}}
	for _, cc := range b.Counties {
		sp.Names[cc.CountyCode] = cc.CountyName
	}
	for _, cs := range sum.Counties {
		sp.Total.Drawn += cs.Drawn
		sp.Total.Inspected += cs.Inspected
		sp.Total.ProblemsFound += cs.ProblemsFound
		sp.Total.Published += cs.Published
		sp.Total.FollowUpsClosed += cs.FollowUpsClosed
		sp.Total.Overdue += cs.Overdue
	}
	p.render(c, http.StatusOK, "summary", "批次汇总："+b.ID, []Crumb{{Name: "抽查任务公告", Href: "/batches"},
		{Name: b.ID, Href: "/batches/" + url.PathEscape(b.ID)}, {Name: "批次汇总"}}, sp)
}

func (p *Portal) verify(c *gin.Context) {
	q, err := query(c, "batch")
	if err != nil {
		p.fail(c, err)
		return
	}
	p.render(c, http.StatusOK, "verify", "在线验证抽取结果", []Crumb{{Name: "在线验证"}}, q["batch"])
}
