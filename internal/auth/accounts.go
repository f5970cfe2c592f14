package auth

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// Accounts are the user accounts of one database, for callers that hold a
// service rather than a connection (the API).
type Accounts struct{ db *sqlx.DB }

// NewAccounts manages the accounts stored in db.
func NewAccounts(db *sqlx.DB) *Accounts { return &Accounts{db: db} }

// List returns every account, by username.
func (a *Accounts) List(ctx context.Context) ([]User, error) { return ListUsers(ctx, a.db) }

// Create stores a new account (see CreateUser).
func (a *Accounts) Create(ctx context.Context, actor string, nu NewUser) (User, error) {
	return CreateUser(ctx, a.db, actor, nu)
}
