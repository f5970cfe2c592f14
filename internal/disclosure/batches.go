package disclosure

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/archive"
	"github.com/spotcheck-gov/spotcheck/internal/batch"
	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/plan"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Stages are the public names of a batch's states.
var Stages = map[batch.State]string{
	batch.Committed: "已公布承诺值", batch.Frozen: "名单已冻结", batch.Drawn: "已抽取",
	batch.Locked: "已锁定分配", "in_progress": "检查实施中", "published": "结果已公示",
	batch.Archived: "已存档", batch.Cancelled: "已取消",
}

// BatchItem is a check item version a batch draws for.
type BatchItem struct {
	Code    string `json:"code" db:"item_code"`
	Version int    `json:"version" db:"item_version"`
	Name    string `json:"name" db:"name"`
}

// Batch is what the public may know of a batch at its stage: the
// commitment from its creation, the population's hash once frozen, the
// beacon and the counts once drawn. The nonce is in the proof only.
type Batch struct {
	ID             string              `json:"id"`
	Name           string              `json:"name"`
	State          batch.State         `json:"state"`
	Stage          string              `json:"stage"` // the state's Chinese name
	Items          []BatchItem         `json:"items"`
	Commitment     string              `json:"commitment"`
	CommittedAt    time.Time           `json:"committed_at"`
	PopulationHash string              `json:"population_hash,omitempty"`
	PopulationSize int                 `json:"population_size,omitempty"`
	FrozenAt       *time.Time          `json:"frozen_at,omitempty"`
	Beacon         *string             `json:"beacon,omitempty"`
	DrawnCount     *int                `json:"drawn_count,omitempty"`
	DrawnAt        *time.Time          `json:"drawn_at,omitempty"`
	LockedAt       *time.Time          `json:"locked_at,omitempty"`
	Counties       []batch.CountyCount `json:"counties,omitempty"`
}

func publicBatch(b batch.Batch) Batch {
	return Batch{ID: b.ID, Name: b.Name, State: b.State, Stage: Stages[b.State], Items: []BatchItem{}, Commitment: b.Commitment,
		CommittedAt: b.CommittedAt, PopulationHash: b.PopulationHash, PopulationSize: b.PopulationSize, FrozenAt: b.FrozenAt,
		Beacon: b.Beacon, DrawnCount: b.DrawnCount, DrawnAt: b.DrawnAt, LockedAt: b.LockedAt, Counties: b.Counties}
}

// Drawn reports whether the batch's drawn list and proof are public.
func (b Batch) Drawn() bool { return b.DrawnAt != nil }

// Frozen reports whether the batch's population is public.
func (b Batch) Frozen() bool { return b.FrozenAt != nil }

func (s *Store) withItems(ctx context.Context, bs []Batch) error {
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	var rows []struct {
		BatchItem
		BatchID string `db:"batch_id"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT bi.batch_id, bi.item_code, bi.item_version, coalesce(ci.name, '') AS name
		FROM batch_items bi LEFT JOIN check_items ci ON ci.code = bi.item_code AND ci.version = bi.item_version
		WHERE bi.batch_id = ANY ($1) ORDER BY bi.batch_id, bi.position`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("read the items of batches: %w", err)
	}
	at := map[string]int{}
	for i, b := range bs {
		at[b.ID] = i
	}
	for _, r := range rows {
		b := &bs[at[r.BatchID]]
		b.Items = append(b.Items, r.BatchItem)
	}
	return nil
}

// Batches returns the latest batches, newest first, at most limit after
// cursor (from the previous page), and the cursor of the next page, empty
// on the last.
func (s *Store) Batches(ctx context.Context, cursor string, limit int) ([]Batch, string, error) {
	list, next, err := s.batches.List(ctx, batch.ListRequest{Cursor: cursor, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]Batch, len(list))
	for i, b := range list {
		out[i] = publicBatch(b)
	}
	return out, next, s.withItems(ctx, out)
}

// Batch returns batch id as the public sees it.
func (s *Store) Batch(ctx context.Context, id string) (Batch, error) {
	b, err := s.batches.Get(ctx, id)
	if err != nil {
		return Batch{}, err
	}
	out := []Batch{publicBatch(b)}
	return out[0], s.withItems(ctx, out)
}

// Drawn returns a page of the drawn list of batch id (see
// [batch.Service.Drawn]): a conflict before the draw.
func (s *Store) Drawn(ctx context.Context, id, county, cursor string, limit int) ([]batch.DrawnObject, string, error) {
	return s.batches.Drawn(ctx, id, county, cursor, limit)
}

// Summary returns the published summary of batch id, not found before it.
func (s *Store) Summary(ctx context.Context, id string) (archive.Summary, error) {
	return s.closer.GetSummary(ctx, id)
}

// PublicPlan is a published plan as the public reads it.
type PublicPlan struct {
	ID               string              `json:"id"`
	Name             string              `json:"name"`
	Owner            string              `json:"owner"` // 处室或县（市、区）局
	DepartmentCode   string              `json:"department_code,omitempty"`
	CountyCode       string              `json:"county_code,omitempty"`
	Items            []string            `json:"items"`
	Batches          []plan.PlannedBatch `json:"batches"`
	InspectionStart  workday.Date        `json:"inspection_start"`
	InspectionEnd    workday.Date        `json:"inspection_end"`
	JointDepartments []string            `json:"joint_departments"`
	Quotas           any                 `json:"quotas"`
	PublishedAt      *time.Time          `json:"published_at"`
}

// CityPlan is the city's plan of a year as published (嘉兴市年度“双随机、
// 一公开”抽查工作计划): the published plans by department and by county.
type CityPlan struct {
	Title       string       `json:"title"`
	Year        int          `json:"year"`
	Departments []PublicPlan `json:"departments"`
	Counties    []PublicPlan `json:"counties"`
	Totals      plan.Totals  `json:"totals"`
	Items       []string     `json:"items"`
}

// CityPlan returns the published city plan of year.
func (s *Store) CityPlan(ctx context.Context, year int) (CityPlan, error) {
	if year < 2000 || year > 2100 {
		return CityPlan{}, fault.Field("year", "give a year such as 2026, not %d", year)
	}
	city, err := s.plans.CityPlan(ctx, year, plan.Published)
	if err != nil {
		return CityPlan{}, err
	}
	var names []struct{ Code, Name string }
	if err := s.db.SelectContext(ctx, &names, `SELECT code, name FROM departments UNION ALL SELECT code, name FROM regions`); err != nil {
		return CityPlan{}, fmt.Errorf("read department and region names: %w", err)
	}
	name := map[string]string{}
	for _, n := range names {
		name[n.Code] = n.Name
	}
	conv := func(ps []plan.Plan) []PublicPlan {
		out := make([]PublicPlan, 0, len(ps))
		for _, p := range ps {
			pp := PublicPlan{ID: p.ID, Name: p.Name, DepartmentCode: p.DepartmentCode, CountyCode: p.CountyCode,
				Owner: name[p.DepartmentCode+p.CountyCode], Batches: p.Batches, InspectionStart: p.InspectionStart,
				InspectionEnd: p.InspectionEnd, JointDepartments: p.JointDepartments, Quotas: p.Rules.Quotas,
				PublishedAt: p.PublishedAt, Items: []string{}}
			for _, it := range p.Rules.Items {
				pp.Items = append(pp.Items, it.Code)
			}
			out = append(out, pp)
		}
		return out
	}
	return CityPlan{
		Title:       fmt.Sprintf("%s %d 年度“双随机、一公开”抽查工作计划", Authority, year),
		Year:        year,
		Departments: conv(city.Departments),
		Counties:    conv(city.Counties),
		Totals:      city.Totals,
		Items:       city.Items,
	}, nil
}
