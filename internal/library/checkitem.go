package library

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/spotcheck-gov/spotcheck/internal/fault"
	"github.com/spotcheck-gov/spotcheck/internal/workday"
)

// CheckItem is one version of an item of the published list (抽查事项清单).
// Versions are never rewritten: an edit creates the next version with the
// date it takes effect, and a batch records the version it used. Only
// Published changes on an existing version.
type CheckItem struct {
	Code       string `json:"code"`
	Version    int    `json:"version"`
	Name       string `json:"name"`
	SubItem    string `json:"sub_item"`
	ObjectKind string `json:"object_kind"`
	// ObjectTags: an object is in scope when it has ObjectKind and all
	// these tags.
	ObjectTags         []string `json:"object_tags"`
	Methods            []string `json:"methods"`
	Authority          string   `json:"authority"`   // 检查主体
	LegalBasis         string   `json:"legal_basis"` // 检查依据
	Content            string   `json:"content"`     // 检查内容
	Class              string   `json:"class"`       // general 一般 or key 重点
	DefaultRatio       string   `json:"default_ratio"`
	FrequencyPerYear   int      `json:"frequency_per_year"`
	InspectorsRequired int      `json:"inspectors_required"` // k >= 2
	// RequiredTags are the qualifications every inspector of an object
	// must hold.
	RequiredTags []string `json:"required_tags"`
	// CrossStation forbids inspectors from the object's own station.
	CrossStation     bool         `json:"cross_station"`
	DepartmentCode   string       `json:"department_code"`
	JointDepartments []string     `json:"joint_departments"`
	EffectiveFrom    workday.Date `json:"effective_from"`
	Published        bool         `json:"published"`
	CreatedAt        time.Time    `json:"created_at"`
	CreatedBy        string       `json:"created_by"`
}

// CheckItemInput is the content of a new item or of its next version.
// Enumerations accept the code or the Chinese term. Defaults: frequency 1
// a year, 2 inspectors, effective from today (China) when EffectiveFrom is
// empty.
type CheckItemInput struct {
	Code               string   `json:"code"`
	Name               string   `json:"name"`
	SubItem            string   `json:"sub_item"`
	ObjectKind         string   `json:"object_kind"`
	ObjectTags         []string `json:"object_tags"`
	Methods            []string `json:"methods"`
	Authority          string   `json:"authority"`
	LegalBasis         string   `json:"legal_basis"`
	Content            string   `json:"content"`
	Class              string   `json:"class"`
	DefaultRatio       string   `json:"default_ratio"`
	FrequencyPerYear   *int     `json:"frequency_per_year"`
	InspectorsRequired *int     `json:"inspectors_required"`
	RequiredTags       []string `json:"required_tags"`
	CrossStation       bool     `json:"cross_station"`
	DepartmentCode     string   `json:"department_code"`
	JointDepartments   []string `json:"joint_departments"`
	EffectiveFrom      string   `json:"effective_from"`
}

// ItemFilter selects check items. Without On, each code is listed at its
// latest version; with On, at the published version in force on that date
// (codes with none are left out). Other fields filter that version.
type ItemFilter struct {
	Kind       string // object kind
	Class      string
	Department string // department_code or one of joint_departments
	Published  *bool
	On         *workday.Date
	Q          string // substring of the code or the name
	After      string // code of the last item of the previous page
	Limit      int
}

var itemCode = regexp.MustCompile(`^[0-9A-Za-z-]{1,32}$`)

const itemCols = `code, version, name, sub_item, object_kind, object_tags, methods, authority, legal_basis,
	content, class, default_ratio, frequency_per_year, inspectors_required, required_tags, cross_station,
	coalesce(department_code, '') AS department_code, joint_departments, effective_from, published, created_at, created_by`

func scanItem(row scanner) (CheckItem, error) {
	var c CheckItem
	err := row.Scan(&c.Code, &c.Version, &c.Name, &c.SubItem, &c.ObjectKind, pq.Array(&c.ObjectTags),
		pq.Array(&c.Methods), &c.Authority, &c.LegalBasis, &c.Content, &c.Class, &c.DefaultRatio,
		&c.FrequencyPerYear, &c.InspectorsRequired, pq.Array(&c.RequiredTags), &c.CrossStation,
		&c.DepartmentCode, pq.Array(&c.JointDepartments), dateScanValue{&c.EffectiveFrom}, &c.Published,
		&c.CreatedAt, &c.CreatedBy)
	for _, s := range []*[]string{&c.ObjectTags, &c.Methods, &c.RequiredTags, &c.JointDepartments} {
		if *s == nil {
			*s = []string{}
		}
	}
	return c, err
}

func collectItems(rows *sql.Rows, err error) ([]CheckItem, error) {
	if err != nil {
		return nil, readErr(err, "query check items")
	}
	defer rows.Close()
	list := []CheckItem{}
	for rows.Next() {
		c, err := scanItem(rows)
		if err != nil {
			return nil, readErr(err, "query check items")
		}
		list = append(list, c)
	}
	return list, readErr(rows.Err(), "query check items")
}

// checkItem validates in and returns the version to insert (without code,
// version and creator).
func checkItem(ctx context.Context, q sqlx.QueryerContext, in CheckItemInput, today workday.Date) (CheckItem, error) {
	var p problems
	var c CheckItem
	c.Code = strings.TrimSpace(in.Code)
	if c.Code == "" {
		p.add("code", "is required")
	} else if !itemCode.MatchString(c.Code) {
		p.add("code", "%q must be 1 to 32 letters, digits or hyphens", c.Code)
	}
	c.Name = p.line("name", in.Name, maxName, true)
	c.SubItem = p.line("sub_item", in.SubItem, maxName, false)
	c.ObjectKind = p.vocab("object_kind", ObjectKinds, in.ObjectKind, "")
	c.ObjectTags = p.tags("object_tags", in.ObjectTags)
	c.Methods = []string{}
	if len(in.Methods) == 0 {
		p.add("methods", "needs at least one method; use %s", strings.Join(Methods.Codes(), ", "))
	}
	for i, m := range in.Methods {
		code := p.vocab(fmt.Sprintf("methods[%d]", i), Methods, m, "")
		if code != "" && !slices.Contains(c.Methods, code) {
			c.Methods = append(c.Methods, code)
		}
	}
	c.Authority = p.line("authority", in.Authority, maxName, false)
	c.LegalBasis = p.text("legal_basis", in.LegalBasis)
	c.Content = p.text("content", in.Content)
	c.Class = p.vocab("class", ItemClasses, in.Class, "")
	c.DefaultRatio = p.ratio("default_ratio", in.DefaultRatio)
	if c.Class == "general" && AboveGeneralCap(c.DefaultRatio) {
		p.add("default_ratio", "%s is above the cap of general items (一般检查事项), %s; only a key item (重点检查事项) may be drawn at a higher ratio", c.DefaultRatio, GeneralRatioCap)
	}
	c.FrequencyPerYear = 1
	if in.FrequencyPerYear != nil {
		if c.FrequencyPerYear = *in.FrequencyPerYear; c.FrequencyPerYear < 1 || c.FrequencyPerYear > 12 {
			p.add("frequency_per_year", "must be from 1 to 12, got %d", c.FrequencyPerYear)
		}
	}
	c.InspectorsRequired = 2
	if in.InspectorsRequired != nil {
		if c.InspectorsRequired = *in.InspectorsRequired; c.InspectorsRequired < 2 {
			p.add("inspectors_required", "must be at least 2 (行政处罚法 art. 42), got %d", c.InspectorsRequired)
		}
	}
	c.RequiredTags = p.tags("required_tags", in.RequiredTags)
	c.CrossStation = in.CrossStation
	var depFields, depCodes []string
	if c.DepartmentCode = strings.TrimSpace(in.DepartmentCode); c.DepartmentCode != "" {
		depFields, depCodes = append(depFields, "department_code"), append(depCodes, c.DepartmentCode)
	}
	c.JointDepartments = []string{}
	for i, d := range in.JointDepartments {
		d = strings.TrimSpace(d)
		if !slices.Contains(c.JointDepartments, d) {
			c.JointDepartments = append(c.JointDepartments, d)
			depFields, depCodes = append(depFields, fmt.Sprintf("joint_departments[%d]", i)), append(depCodes, d)
		}
	}
	if err := p.departmentsExist(ctx, q, depFields, depCodes); err != nil {
		return c, err
	}
	c.EffectiveFrom = today
	if d := p.date("effective_from", in.EffectiveFrom); d != nil {
		c.EffectiveFrom = *d
	}
	return c, p.err("the check item is not valid")
}

func insertItem(ctx context.Context, tx *sqlx.Tx, c CheckItem) (CheckItem, error) {
	var dep *string
	if c.DepartmentCode != "" {
		dep = &c.DepartmentCode
	}
	return scanItem(tx.QueryRowContext(ctx, `INSERT INTO check_items (code, version, name, sub_item, object_kind,
		object_tags, methods, authority, legal_basis, content, class, default_ratio, frequency_per_year,
		inspectors_required, required_tags, cross_station, department_code, joint_departments, effective_from,
		created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		RETURNING `+itemCols,
		c.Code, c.Version, c.Name, c.SubItem, c.ObjectKind, pq.Array(c.ObjectTags), pq.Array(c.Methods),
		c.Authority, c.LegalBasis, c.Content, c.Class, c.DefaultRatio, c.FrequencyPerYear, c.InspectorsRequired,
		pq.Array(c.RequiredTags), c.CrossStation, dep, pq.Array(c.JointDepartments), c.EffectiveFrom.String(),
		c.CreatedBy))
}

// CreateCheckItem adds a new item as version 1, unpublished.
func (s *Store) CreateCheckItem(ctx context.Context, by Actor, in CheckItemInput) (CheckItem, error) {
	var out CheckItem
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		c, err := checkItem(ctx, tx, in, s.today())
		if err != nil {
			return err
		}
		c.Version, c.CreatedBy = 1, by.Name
		out, err = insertItem(ctx, tx, c)
		if isUnique(err, "check_items_pkey") {
			return fault.New(fault.Conflict, "a check item with code %s already exists; add a version to change it", c.Code)
		}
		return err
	})
	return out, err
}

// NewCheckItemVersion adds the next version of the item with code, with
// the content of in (in.Code may be empty or must equal code). basedOn, if
// not 0, is the latest version the caller saw: if there is a later one,
// the edit is refused as stale. The new version may not take effect
// before a published version does: the list in force on past dates is
// never changed.
func (s *Store) NewCheckItemVersion(ctx context.Context, by Actor, code string, basedOn int, in CheckItemInput) (CheckItem, error) {
	var out CheckItem
	if unstorable(code) {
		return CheckItem{}, fault.New(fault.NotFound, "no check item has the code %q", code)
	}
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		latest, err := scanItem(tx.QueryRowContext(ctx, `SELECT `+itemCols+` FROM check_items WHERE code = $1
			ORDER BY version DESC LIMIT 1 FOR UPDATE`, code))
		if err != nil {
			return notFound(err, "no check item has the code %q", code)
		}
		if basedOn != 0 && basedOn != latest.Version {
			return fault.New(fault.PreconditionFailed,
				"check item %s has changed: you edited version %d, the latest is version %d; get it again and reapply your edit",
				code, basedOn, latest.Version)
		}
		if strings.TrimSpace(in.Code) == "" {
			in.Code = code
		}
		c, err := checkItem(ctx, tx, in, s.today())
		if err != nil {
			return err
		}
		if c.Code != code {
			return fault.Field("code", "cannot be changed (from %s to %s); create a new item instead", code, c.Code)
		}
		var pubVersion int
		var pubFrom time.Time
		err = tx.QueryRowContext(ctx, `SELECT version, effective_from FROM check_items WHERE code = $1 AND published
			ORDER BY effective_from DESC, version DESC LIMIT 1`, code).Scan(&pubVersion, &pubFrom)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil {
			if from, _ := dateValue(pubFrom); c.EffectiveFrom.Before(from) {
				return fault.Field("effective_from",
					"%s is before %s, when published version %d took effect; the list in force on past dates cannot change",
					c.EffectiveFrom, from, pubVersion)
			}
		}
		c.Version, c.CreatedBy = latest.Version+1, by.Name
		out, err = insertItem(ctx, tx, c)
		if isUnique(err, "check_items_pkey") {
			return fault.New(fault.Conflict, "another version of check item %s was created at the same time; get it again and retry", code)
		}
		return err
	})
	return out, err
}

// CheckItem returns the latest version of the item with code.
func (s *Store) CheckItem(ctx context.Context, code string) (CheckItem, error) {
	if unstorable(code) {
		return CheckItem{}, fault.New(fault.NotFound, "no check item has the code %q", code)
	}
	c, err := scanItem(s.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM check_items WHERE code = $1
		ORDER BY version DESC LIMIT 1`, code))
	return c, notFound(err, "no check item has the code %q", code)
}

// CheckItemVersion returns one version of an item.
func (s *Store) CheckItemVersion(ctx context.Context, code string, version int) (CheckItem, error) {
	if unstorable(code) {
		return CheckItem{}, fault.New(fault.NotFound, "no check item has the code %q", code)
	}
	c, err := scanItem(s.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM check_items WHERE code = $1 AND version = $2`,
		code, version))
	return c, notFound(err, "check item %q has no version %d", code, version)
}

// CheckItemOn returns the version of the item in force on date: of the
// published versions effective on or before it, the one that took effect
// last (the higher version on the same day).
func (s *Store) CheckItemOn(ctx context.Context, code string, date workday.Date) (CheckItem, error) {
	if unstorable(code) {
		return CheckItem{}, fault.New(fault.NotFound, "no check item has the code %q", code)
	}
	c, err := scanItem(s.db.QueryRowContext(ctx, `SELECT `+itemCols+` FROM check_items
		WHERE code = $1 AND published AND effective_from <= $2
		ORDER BY effective_from DESC, version DESC LIMIT 1`, code, date.String()))
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.CheckItem(ctx, code); err != nil {
			return c, err
		}
		return c, fault.New(fault.NotFound, "check item %s has no published version in force on %s", code, date)
	}
	return c, err
}

// CheckItemVersions lists the versions of an item in ascending order, a
// page at a time (after: the last version of the previous page); next is
// 0 on the last page.
func (s *Store) CheckItemVersions(ctx context.Context, code string, after, limit int) (list []CheckItem, next int, err error) {
	if unstorable(code) {
		return nil, 0, fault.New(fault.NotFound, "no check item has the code %q", code)
	}
	limit = clampLimit(limit)
	list, err = collectItems(s.db.QueryContext(ctx, `SELECT `+itemCols+` FROM check_items
		WHERE code = $1 AND version > $2 ORDER BY version LIMIT $3`, code, after, limit+1))
	if err != nil {
		return nil, 0, err
	}
	if len(list) == 0 && after == 0 {
		return nil, 0, fault.New(fault.NotFound, "no check item has the code %q", code)
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].Version
	}
	return list, next, nil
}

// PublishCheckItem publishes a version of an item; publishing one that is
// already published is refused.
func (s *Store) PublishCheckItem(ctx context.Context, by Actor, code string, version int) (CheckItem, error) {
	return s.setPublished(ctx, by, code, version, true)
}

// UnpublishCheckItem withdraws a version from the published list (the
// item's deactivation); batches that used it keep their record of it.
func (s *Store) UnpublishCheckItem(ctx context.Context, by Actor, code string, version int) (CheckItem, error) {
	return s.setPublished(ctx, by, code, version, false)
}

func (s *Store) setPublished(ctx context.Context, by Actor, code string, version int, published bool) (CheckItem, error) {
	if unstorable(code) {
		return CheckItem{}, fault.New(fault.NotFound, "no check item has the code %q", code)
	}
	var out CheckItem
	err := s.write(ctx, by, func(tx *sqlx.Tx) error {
		cur, err := scanItem(tx.QueryRowContext(ctx, `SELECT `+itemCols+` FROM check_items
			WHERE code = $1 AND version = $2 FOR UPDATE`, code, version))
		if err != nil {
			return notFound(err, "check item %q has no version %d", code, version)
		}
		if cur.Published == published {
			state := "unpublished"
			if published {
				state = "published"
			}
			return fault.New(fault.Conflict, "version %d of check item %s is already %s", version, code, state)
		}
		out, err = scanItem(tx.QueryRowContext(ctx, `UPDATE check_items SET published = $3
			WHERE code = $1 AND version = $2 RETURNING `+itemCols, code, version, published))
		return err
	})
	return out, err
}

// CheckItems lists items that match f in code order, a page at a time.
func (s *Store) CheckItems(ctx context.Context, f ItemFilter) (list []CheckItem, next string, err error) {
	var a args
	var p problems
	if unstorable(f.After) {
		p.add("cursor", "is not a cursor this server issued; start again without it")
	}
	inner := "code > " + a.add(f.After)
	order := "code, version DESC"
	if f.On != nil {
		inner += " AND published AND effective_from <= " + a.add(f.On.String())
		order = "code, effective_from DESC, version DESC"
	}
	where := []string{"true"}
	if k := strings.TrimSpace(f.Kind); k != "" {
		if c, ok := ObjectKinds.Canonical(k); ok {
			where = append(where, "object_kind = "+a.add(c))
		} else {
			p.add("kind", "%s", vocabProblem(ObjectKinds, k))
		}
	}
	if k := strings.TrimSpace(f.Class); k != "" {
		if c, ok := ItemClasses.Canonical(k); ok {
			where = append(where, "class = "+a.add(c))
		} else {
			p.add("class", "%s", vocabProblem(ItemClasses, k))
		}
	}
	if d := strings.TrimSpace(f.Department); unstorable(d) {
		p.add("department", "is not valid UTF-8 text")
	} else if d != "" {
		ph := a.add(d)
		where = append(where, "(department_code = "+ph+" OR "+ph+" = ANY(joint_departments))")
	}
	if f.Published != nil {
		where = append(where, "published = "+a.add(*f.Published))
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		if textProblem(q) != "" {
			p.add("q", "%s", textProblem(q))
		}
		pat := a.add(likePattern(q))
		where = append(where, "(name ILIKE "+pat+` ESCAPE '\' OR code ILIKE `+pat+` ESCAPE '\')`)
	}
	if err := p.err("the filter is not valid"); err != nil {
		return nil, "", err
	}
	limit := clampLimit(f.Limit)
	list, err = collectItems(s.db.QueryContext(ctx, `SELECT * FROM (SELECT DISTINCT ON (code) `+itemCols+`
		FROM check_items WHERE `+inner+` ORDER BY `+order+`) c WHERE `+strings.Join(where, " AND ")+
		` ORDER BY code LIMIT `+a.add(limit+1), a...))
	if err != nil {
		return nil, "", err
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].Code
	}
	return list, next, nil
}

// ApplicableItems lists the items that apply to the object with key today:
// of each item, the published version in force, if its object kind is the
// object's and the object carries all of its object tags.
func (s *Store) ApplicableItems(ctx context.Context, objectKey string) ([]CheckItem, error) {
	return s.ApplicableItemsOn(ctx, objectKey, s.today())
}

// ApplicableItemsOn is ApplicableItems on a given date.
func (s *Store) ApplicableItemsOn(ctx context.Context, objectKey string, date workday.Date) ([]CheckItem, error) {
	o, err := s.Object(ctx, objectKey)
	if err != nil {
		return nil, err
	}
	return collectItems(s.db.QueryContext(ctx, `SELECT * FROM (SELECT DISTINCT ON (code) `+itemCols+`
		FROM check_items WHERE published AND effective_from <= $1
		ORDER BY code, effective_from DESC, version DESC) c
		WHERE object_kind = $2 AND object_tags <@ $3 ORDER BY code`,
		date.String(), o.Kind, pq.Array(o.Tags)))
}
