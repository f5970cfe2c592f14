package activities

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/spotcheck-gov/spotcheck/internal/audit"
)

// AuditHeads publishes the head of the audit chain.
type AuditHeads struct {
	DB *sqlx.DB
}

// PublishAuditHead appends the current head to the public list
// (/public/audit/heads); a head that has not moved since its last daily
// publication is not repeated.
func (a *AuditHeads) PublishAuditHead(ctx context.Context) (audit.Head, error) {
	return audit.PublishHead(ctx, a.DB, "daily", "")
}
