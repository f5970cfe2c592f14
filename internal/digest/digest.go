// Package digest gathers a contact's reminders into one message a working
// day: the open deadlines of the region's objects that fall due within the
// next working days and those already overdue, grouped by batch and duty,
// with counts and the first objects by name. A county officer reads one
// message a morning instead of one per object and duty.
package digest

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/inspection"
	"github.com/spotcheck-gov/spotcheck/internal/notify"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// Ahead is how many working days ahead a digest looks, as the first of
// the reminders does (5 and 1 working days before each deadline).
const Ahead = 5

// Listed is how many objects a group names; the rest are counted.
const Listed = 20

// Object is one object's open duty.
type Object struct {
	Key     string `json:"key" db:"object_key"`
	Name    string `json:"name" db:"name"`
	Due     string `json:"due" db:"due"` // YYYY-MM-DD
	Overdue bool   `json:"overdue" db:"overdue"`
}

// Group is one batch's open duty of one kind.
type Group struct {
	BatchID string `json:"batch_id"`
	Duty    string `json:"duty"`
	DueSoon int    `json:"due_soon"`
	Overdue int    `json:"overdue"`
	// Objects are the first Listed of the group by name.
	Objects []Object `json:"objects"`
}

// Digest is what a region has open on a day.
type Digest struct {
	RegionCode string       `json:"region_code"`
	RegionName string       `json:"region_name"`
	Day        workday.Date `json:"day"`
	// Horizon is the last day counted as falling due soon.
	Horizon workday.Date `json:"horizon"`
	DueSoon int          `json:"due_soon"`
	Overdue int          `json:"overdue"`
	Groups  []Group      `json:"groups"`
}

// Empty reports whether there is nothing to tell.
func (d Digest) Empty() bool { return d.DueSoon == 0 && d.Overdue == 0 }

// Store reads the open deadlines from the task rows.
type Store struct{ db *sqlx.DB }

// NewStore returns a Store on db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// Gather returns the open deadlines of the objects of region (a county, or
// a city and its counties) due by horizon or overdue on day. Which deadline
// is open follows the task's stage: the inspection while assigned, the
// result entry while inspected or returned, the publication while
// approved, the follow-up entry while following up.
func (s *Store) Gather(ctx context.Context, region string, day, horizon workday.Date) (Digest, error) {
	d := Digest{RegionCode: region, Day: day, Horizon: horizon, Groups: []Group{}}
	if err := s.db.GetContext(ctx, &d.RegionName, `SELECT name FROM regions WHERE code = $1`, region); err != nil {
		return d, fmt.Errorf("digest: region %s: %w", region, err)
	}
	type row struct {
		Object
		BatchID string `db:"batch_id"`
		Duty    string `db:"duty"`
		DueSoon int    `db:"due_soon"`
		Late    int    `db:"late"`
	}
	var rows []row
	err := s.db.SelectContext(ctx, &rows, `
		WITH open AS (
			SELECT t.batch_id, t.object_key, coalesce(nullif(o.name, ''), t.object_key) AS name, d.duty, d.due,
			       (d.duty = ANY (t.overdue) OR d.due < $2::date) AS overdue
			FROM tasks t
			LEFT JOIN objects o ON o.key = t.object_key
			CROSS JOIN LATERAL (VALUES
				('inspection', t.inspection_due, t.stage = 'assigned'),
				('result_entry', t.result_due, t.stage IN ('inspected', 'returned')),
				('publication', t.publication_due, t.stage = 'approved'),
				('follow_up_entry', t.follow_up_due, t.stage = 'follow_up')) AS d (duty, due, open)
			WHERE t.stage <> 'closed' AND d.open AND d.due IS NOT NULL
			  AND (t.county_code = $1 OR t.county_code IN (SELECT code FROM regions WHERE parent_code = $1))
			  AND (d.due <= $3::date OR d.duty = ANY (t.overdue))
		), ranked AS (
			SELECT *, count(*) FILTER (WHERE NOT overdue) OVER g AS due_soon, count(*) FILTER (WHERE overdue) OVER g AS late,
			       row_number() OVER (g ORDER BY name, object_key) AS rn
			FROM open WINDOW g AS (PARTITION BY batch_id, duty)
		)
		SELECT batch_id, duty, due_soon, late, object_key, name, due::text AS due, overdue
		FROM ranked WHERE rn <= $4
		ORDER BY batch_id, array_position(ARRAY['inspection', 'result_entry', 'publication', 'follow_up_entry'], duty), rn`,
		region, day.String(), horizon.String(), Listed)
	if err != nil {
		return d, fmt.Errorf("digest: open deadlines of %s: %w", region, err)
	}
	for _, r := range rows {
		n := len(d.Groups)
		if n == 0 || d.Groups[n-1].BatchID != r.BatchID || d.Groups[n-1].Duty != r.Duty {
			d.Groups = append(d.Groups, Group{BatchID: r.BatchID, Duty: r.Duty, DueSoon: r.DueSoon, Overdue: r.Late})
			d.DueSoon += r.DueSoon
			d.Overdue += r.Late
			n++
		}
		d.Groups[n-1].Objects = append(d.Groups[n-1].Objects, r.Object)
	}
	return d, nil
}

// Message writes the digest for people: a one-line subject with the
// counts, the link to the county's page first (so that a chat robot's cut
// of a long message never loses it), then each group with its objects.
// countyPage is COUNTY_PAGE_URL ("" for none).
func Message(id string, d Digest, role, countyPage string) notify.Notification {
	var b strings.Builder
	fmt.Fprintf(&b, "%s，%s待办：%d 个工作日内（至 %s）到期 %d 项，已逾期 %d 项。\n",
		d.RegionName, chineseDate(d.Day), Ahead, d.Horizon, d.DueSoon, d.Overdue)
	if countyPage != "" {
		fmt.Fprintf(&b, "县局页面：%s\n", strings.ReplaceAll(countyPage, "{county}", d.RegionCode))
	}
	for _, g := range d.Groups {
		fmt.Fprintf(&b, "\n【批次 %s · %s】即将到期 %d 项，已逾期 %d 项\n", g.BatchID, inspection.DutyNames[g.Duty], g.DueSoon, g.Overdue)
		for _, o := range g.Objects {
			state := "到期"
			if o.Overdue {
				state = "已逾期，期限"
			}
			fmt.Fprintf(&b, "- %s（%s %s）\n", o.Name, state, o.Due)
		}
		if rest := g.DueSoon + g.Overdue - len(g.Objects); rest > 0 {
			fmt.Fprintf(&b, "- 另有 %d 项，请登录系统查看\n", rest)
		}
	}
	return notify.Notification{
		ID: id, Kind: KindDigest, RegionCode: d.RegionCode, Role: role,
		Subject: fmt.Sprintf("双随机抽查每日待办：%s 即将到期 %d 项，已逾期 %d 项", d.RegionName, d.DueSoon, d.Overdue),
		Body:    strings.TrimRight(b.String(), "\n"),
		Payload: map[string]any{"day": d.Day.String(), "horizon": d.Horizon.String(), "due_soon": d.DueSoon, "overdue": d.Overdue},
	}
}

// KindDigest is the notification kind of a digest.
const KindDigest = "digest"

// ID is the natural key of a contact's digest of a day: one a day, ever.
func ID(contactID int64, day workday.Date) string {
	return fmt.Sprintf("digest/%s/contact/%d", day, contactID)
}

func chineseDate(d workday.Date) string {
	t := d.Start()
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}
