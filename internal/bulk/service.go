package bulk

import (
	"context"
	"io"

	"github.com/jmoiron/sqlx"
)

// Service imports and exports the libraries of one database, for callers
// that hold a service rather than a connection (the API).
type Service struct{ db *sqlx.DB }

// NewService imports into and exports from db.
func NewService(db *sqlx.DB) *Service { return &Service{db: db} }

// Import imports the file at path into l (see Import).
func (s *Service) Import(ctx context.Context, l *Library, path string, opt Options) (*Result, error) {
	return Import(ctx, s.db, l, path, opt)
}

// StartExport starts the export of l's rows matching f (see StartExport).
func (s *Service) StartExport(ctx context.Context, l *Library, format Format, f Filter) (*Export, error) {
	return StartExport(ctx, s.db, l, format, f)
}

// WriteTemplate writes l's import template (see WriteTemplate).
func (s *Service) WriteTemplate(ctx context.Context, l *Library, w io.Writer) error {
	return WriteTemplate(ctx, s.db, l, w)
}
