package staffing

import (
	"context"
	"fmt"

	"github.com/lib/pq"
)

// TeamsPageInput names one page of a matched county's objects: objects
// Page*Size to (Page+1)*Size-1 in drawn order, set-aside objects left out.
type TeamsPageInput struct {
	BatchID string `json:"batch_id"`
	County  string `json:"county"`
	Page    int    `json:"page"`
	Size    int    `json:"size"`
}

// ObjectTeam is one matched object and the team its match gave.
type ObjectTeam struct {
	ObjectKey string   `json:"object_key"`
	Team      []string `json:"team"`
}

// TeamsPage reads a page of the county's round-1 teams (the answer the
// match gave, as MatchResult.Teams), in drawn order. Before the match it
// is empty.
func (s *Service) TeamsPage(ctx context.Context, in TeamsPageInput) ([]ObjectTeam, error) {
	if in.Size < 1 || in.Page < 0 {
		return nil, fmt.Errorf("page %d of size %d: the page must be from 0 and its size at least 1", in.Page, in.Size)
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT bo.object_key, array_agg(ma.inspector_key ORDER BY ma.department_code, ma.position)
		FROM batch_objects bo
		JOIN match_assignments ma ON ma.batch_id = bo.batch_id AND ma.object_key = bo.object_key AND ma.round = 1
		WHERE bo.batch_id = $1 AND bo.county_code = $2
		GROUP BY bo.object_key, bo.position
		ORDER BY bo.position
		OFFSET $3 LIMIT $4`, in.BatchID, in.County, in.Page*in.Size, in.Size)
	if err != nil {
		return nil, fmt.Errorf("read page %d of the teams of county %s in batch %s: %w", in.Page, in.County, in.BatchID, err)
	}
	defer rows.Close()
	page := []ObjectTeam{}
	for rows.Next() {
		var t ObjectTeam
		if err := rows.Scan(&t.ObjectKey, pq.Array(&t.Team)); err != nil {
			return nil, fmt.Errorf("read the teams of county %s in batch %s: %w", in.County, in.BatchID, err)
		}
		page = append(page, t)
	}
	return page, rows.Err()
}
