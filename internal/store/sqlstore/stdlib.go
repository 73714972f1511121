package sqlstore

import (
	"context"
	"database/sql"
)

// DB adapts a database/sql pool to Querier.
type DB struct{ *sql.DB }

func (d DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return execResult(d.DB.ExecContext(ctx, query, args...))
}

func (d DB) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := d.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (d DB) QueryRow(ctx context.Context, query string, args ...any) Row {
	return d.DB.QueryRowContext(ctx, query, args...)
}

// BeginDB starts a database/sql transaction as a TxConn.
func BeginDB(ctx context.Context, db *sql.DB) (TxConn, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return SQLTx{tx}, nil
}

// SQLTx adapts a database/sql transaction to TxConn.
type SQLTx struct{ Tx *sql.Tx }

func (t SQLTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return execResult(t.Tx.ExecContext(ctx, query, args...))
}

func (t SQLTx) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := t.Tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (t SQLTx) QueryRow(ctx context.Context, query string, args ...any) Row {
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t SQLTx) Commit(context.Context) error   { return t.Tx.Commit() }
func (t SQLTx) Rollback(context.Context) error { return t.Tx.Rollback() }

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

func execResult(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
