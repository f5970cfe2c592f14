package staffing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/match"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// PoolPreview is what a county's match would work with, before it runs:
// its pool and, per drawn object, the inspectors eligible and available
// and those recused, with why. It is built by the very functions the
// match uses (loadPlan, loadObjects, loadPool, build), so that a preview
// and the match that follows it cannot disagree.
type PoolPreview struct {
	BatchID       string          `json:"batch_id"`
	County        string          `json:"county"`
	InspectionEnd workday.Date    `json:"inspection_end"`
	State         string          `json:"state"`
	Matched       bool            `json:"matched"`
	Pool          []PoolInspector `json:"pool"`
	Objects       []PoolObject    `json:"objects"`
	SetAside      []SetAside      `json:"set_aside"`
	// Unstaffed counts the objects with fewer available inspectors than
	// they need: the match would be refused as it stands.
	Unstaffed int `json:"unstaffed"`
}

// PoolInspector is one inspector of the county's pool (active, certificate
// valid through the inspection period) with their open tasks.
type PoolInspector struct {
	Key        string   `json:"inspector_key"`
	Name       string   `json:"name"`
	Tags       []string `json:"tags"`
	Unit       string   `json:"unit"`
	Department string   `json:"department_code,omitempty"`
	Load       int      `json:"load"`
	MaxLoad    int      `json:"max_load"`
}

// PoolObject is one drawn object's share of the pool.
type PoolObject struct {
	ObjectKey    string    `json:"object_key"`
	Department   string    `json:"department_code,omitempty"`
	K            int       `json:"k"`
	RequiredTags []string  `json:"required_tags"`
	Eligible     []string  `json:"eligible"`
	Available    []string  `json:"available"`
	Recused      []Recusal `json:"recused"`
}

// Recusal is one inspector recused from an object and why (Recused*).
type Recusal struct {
	InspectorKey string   `json:"inspector_key"`
	Reasons      []string `json:"reasons"`
}

// Preview returns the pool preview of county in batchID. It reads what
// MatchCounty reads, without locking or storing anything; once the county
// is matched it still answers, with Matched set.
func (s *Service) Preview(ctx context.Context, batchID, county string) (PoolPreview, error) {
	pv := PoolPreview{BatchID: batchID, County: county, Pool: []PoolInspector{}, Objects: []PoolObject{}}
	var b struct {
		State string         `db:"state"`
		End   sql.NullString `db:"inspection_end"`
	}
	err := s.db.GetContext(ctx, &b, `SELECT state, inspection_end::text AS inspection_end FROM batches WHERE id = $1`, batchID)
	if errors.Is(err, sql.ErrNoRows) {
		return pv, fault.New(fault.NotFound, "there is no batch %s", batchID)
	}
	if err != nil {
		return pv, fmt.Errorf("read batch %s: %w", batchID, err)
	}
	pv.State = b.State
	if !b.End.Valid {
		// Batches of before the schedule (00052) match on their workflow's input.
		return pv, fault.New(fault.Conflict, "batch %s has no inspection period recorded, so its pool cannot be previewed", batchID)
	}
	if pv.InspectionEnd, err = workday.ParseDate(b.End.String); err != nil {
		return pv, fmt.Errorf("inspection end of batch %s: %w", batchID, err)
	}
	var q sqlx.QueryerContext = s.db
	if err := s.db.GetContext(ctx, &pv.Matched, `SELECT EXISTS (SELECT 1 FROM matches WHERE batch_id = $1 AND county_code = $2 AND kind = 'match')`,
		batchID, county); err != nil {
		return pv, fmt.Errorf("read the match of county %s in batch %s: %w", county, batchID, err)
	}
	objs, err := loadObjects(ctx, q, batchID, county, "")
	if err != nil {
		return pv, err
	}
	if pv.SetAside, err = s.SetAsides(ctx, batchID, county); err != nil {
		return pv, err
	}
	if len(objs) == 0 && len(pv.SetAside) == 0 {
		return pv, fault.New(fault.NotFound, "batch %s has no drawn object assigned to county %s", batchID, county)
	}
	p, err := loadPlan(ctx, q, batchID)
	if err != nil {
		return pv, err
	}
	pool, err := loadPool(ctx, q, county, pv.InspectionEnd)
	if err != nil {
		return pv, err
	}
	for _, m := range pool {
		in := m.inspector()
		pv.Pool = append(pv.Pool, PoolInspector{Key: m.Key, Name: m.Name, Tags: in.Tags, Unit: m.Unit, Department: m.Department, Load: m.Load, MaxLoad: m.MaxLoad})
	}
	depts, err := p.build(objs, pool)
	if err != nil {
		return pv, err
	}
	// The drawn list's order, department by department within an object.
	at := map[string]int{}
	for i, o := range objs {
		at[o.Key] = i
	}
	for _, d := range depts {
		for _, o := range d.objects {
			po := eligibility(o, d.inspectors)
			po.Department = d.department
			for _, k := range o.Recused {
				po.Recused = append(po.Recused, Recusal{InspectorKey: k, Reasons: d.reasons[o.ObjectKey][k]})
			}
			if len(po.Available) < po.K {
				pv.Unstaffed++
			}
			pv.Objects = append(pv.Objects, po)
		}
	}
	slices.SortStableFunc(pv.Objects, func(a, b PoolObject) int { return at[a.ObjectKey] - at[b.ObjectKey] })
	return pv, nil
}

// eligibility is step 1 of the match (DRAW-SPEC §2) for one object: the
// inspectors holding all its required tags and not recused, and of those
// the ones below their max load before this match.
func eligibility(o match.Object, pool []match.Inspector) PoolObject {
	po := PoolObject{ObjectKey: o.ObjectKey, K: o.K, RequiredTags: o.RequiredTags, Eligible: []string{}, Available: []string{}, Recused: []Recusal{}}
	for _, in := range pool {
		if slices.Contains(o.Recused, in.InspectorKey) {
			continue
		}
		qualified := true
		for _, t := range o.RequiredTags {
			if !slices.Contains(in.Tags, t) {
				qualified = false
				break
			}
		}
		if !qualified {
			continue
		}
		po.Eligible = append(po.Eligible, in.InspectorKey)
		if in.InitialLoad < in.MaxLoad {
			po.Available = append(po.Available, in.InspectorKey)
		}
	}
	return po
}
