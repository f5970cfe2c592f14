package activities

import (
	"context"
	"fmt"

	"github.com/spotcheck-gov/spotcheck/internal/batch"
)

// BatchSteps runs the draw sequence of internal/batch for the workflow.
type BatchSteps struct {
	Service *batch.Service
}

// Freeze fixes the population (idempotent).
func (s BatchSteps) Freeze(ctx context.Context, batchID string) error {
	_, err := s.Service.Freeze(ctx, batchID)
	return err
}

// Draw draws with the beacon (idempotent for the same beacon).
func (s BatchSteps) Draw(ctx context.Context, batchID, beacon string) error {
	_, err := s.Service.Draw(ctx, batchID, beacon)
	return err
}

// LockCounties locks the batch and returns how many objects each county
// received.
func (s BatchSteps) LockCounties(ctx context.Context, batchID string) ([]CountyShare, error) {
	counts, err := s.Service.Lock(ctx, batchID)
	if err != nil {
		return nil, err
	}
	shares := make([]CountyShare, 0, len(counts))
	for _, c := range counts {
		if c.CountyCode == "" {
			return nil, fmt.Errorf("%d objects of batch %s have no county: their regions left the directory", c.Objects, batchID)
		}
		shares = append(shares, CountyShare{County: c.CountyCode, Count: c.Objects})
	}
	return shares, nil
}

// Lock locks the batch and returns each county's objects in drawn order
// (batches started before LockCounties).
func (s BatchSteps) Lock(ctx context.Context, batchID string) ([]CountyShare, error) {
	if _, err := s.Service.Lock(ctx, batchID); err != nil {
		return nil, err
	}
	lists, err := s.Service.DrawnByCounty(ctx, batchID)
	if err != nil {
		return nil, err
	}
	var shares []CountyShare
	for _, l := range lists {
		shares = append(shares, CountyShare{County: l.County, Objects: l.Objects})
	}
	return shares, nil
}
