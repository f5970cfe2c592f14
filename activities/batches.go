package activities

import "context"

// DrawInput asks for a batch's draw with the beacon received.
type DrawInput struct {
	BatchID string `json:"batch_id"`
	Beacon  string `json:"beacon"`
}

// CountyShare is the part of a locked batch assigned to one county: its
// objects in drawn order (Lock), or only how many (LockCounties), which
// keeps the lock's answer the same size whatever the batch.
type CountyShare struct {
	County  string   `json:"county"`
	Objects []string `json:"objects"`
	Count   int      `json:"count,omitempty"`
}

// Size is the number of objects of the share.
func (s CountyShare) Size() int {
	if s.Objects == nil {
		return s.Count
	}
	return len(s.Objects)
}

// DrawSteps is the draw sequence of internal/batch: each step idempotent
// and refused in the wrong state.
type DrawSteps interface {
	Freeze(ctx context.Context, batchID string) error
	Draw(ctx context.Context, batchID, beacon string) error
	Lock(ctx context.Context, batchID string) ([]CountyShare, error)
	LockCounties(ctx context.Context, batchID string) ([]CountyShare, error)
}

// Closing publishes a batch's summary and seals its archive.
type Closing interface {
	PublishSummary(ctx context.Context, batchID string) error
	Archive(ctx context.Context, batchID string) error
}

// Batches are the batch-level activities.
type Batches struct {
	Steps   DrawSteps
	Closing Closing
}

// Freeze fixes the eligible population before the beacon is known.
func (b *Batches) Freeze(ctx context.Context, batchID string) error {
	return Reject(b.Steps.Freeze(ctx, batchID))
}

// Draw draws with the beacon and reveals the nonce in the proof.
func (b *Batches) Draw(ctx context.Context, in DrawInput) error {
	return Reject(b.Steps.Draw(ctx, in.BatchID, in.Beacon))
}

// Lock locks the drawn list and assigns each object to its county.
func (b *Batches) Lock(ctx context.Context, batchID string) ([]CountyShare, error) {
	shares, err := b.Steps.Lock(ctx, batchID)
	return shares, Reject(err)
}

// LockCounties locks the drawn list, assigns each object to its county and
// returns how many objects each county received; the counties read their
// objects page by page.
func (b *Batches) LockCounties(ctx context.Context, batchID string) ([]CountyShare, error) {
	shares, err := b.Steps.LockCounties(ctx, batchID)
	return shares, Reject(err)
}

// PublishSummary makes the batch's summary public.
func (b *Batches) PublishSummary(ctx context.Context, batchID string) error {
	return Reject(b.Closing.PublishSummary(ctx, batchID))
}

// Archive seals the batch's record.
func (b *Batches) Archive(ctx context.Context, batchID string) error {
	return Reject(b.Closing.Archive(ctx, batchID))
}
