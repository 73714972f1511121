package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubtrack/hub/internal/store/sqlstore"
)

var touchpointCols = strings.Join(sqlstore.TouchpointColumns, ", ")

type poolQuerier struct{ p *pgxpool.Pool }

func (q poolQuerier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.p.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (q poolQuerier) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return q.p.Query(ctx, sql, args...)
}

func (q poolQuerier) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	return q.p.QueryRow(ctx, sql, args...)
}

type connQuerier struct{ c *pgx.Conn }

func (q connQuerier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.c.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (q connQuerier) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return q.c.Query(ctx, sql, args...)
}

func (q connQuerier) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	return q.c.QueryRow(ctx, sql, args...)
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (t pgTx) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return t.tx.Query(ctx, sql, args...)
}

func (t pgTx) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	return t.tx.QueryRow(ctx, sql, args...)
}

func (t pgTx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t pgTx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }
