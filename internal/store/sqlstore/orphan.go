package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubtrack/hub/internal/store"
)

// A lost fetch. River's producer claims jobs with one statement (state running, attempt + 1,
// attempted_at now, this client's ID appended to attempted_by) and hands the returned rows to
// its workers. When the database crashes after committing that statement but before its answer
// reaches the client, the producer gets an error and the rows are gone: no worker runs the jobs
// and nothing in River releases them before its rescuer (RescueStuckJobsAfter, minutes).
// Failures after a job ran are not this case: River's batch completer keeps a completion whose
// write failed and writes it again.
//
// The orphan tracker tells such jobs apart by the fetch, not by the job: a fetch is the job's
// id and its attempted_at, which every fetch sets anew (a snooze gives back the attempt number,
// so the attempt alone repeats). A worker middleware records every fetch a worker of this
// process starts, before the job's work; the sweep puts back only running jobs whose last
// attempt is this client's and whose fetch no worker started, once that fetch is older than
// OrphanRelease.After. A started fetch is never touched, whether it is still being worked or
// its completion is still waiting in River's completer, so nothing that ran is released.
type orphans struct {
	cfg      store.OrphanRelease
	log      *slog.Logger
	f        *Flavor
	db       Querier
	clientID string

	mu       sync.Mutex
	started  map[fetch]time.Time // fetches a worker started, when (pruned after keep)
	released map[fetch]time.Time // fetches put back, so a late hand-over never works them
}

// fetch identifies one fetch of one job: its id and attempted_at in milliseconds (the
// precision both drivers keep).
type fetch struct {
	id int64
	at int64
}

// errFetchReleased is returned for a job whose fetch reached its worker after the sweep had
// put the job back (a hand-over slower than OrphanRelease.After): the job is not worked on
// this fetch. River records it as a failed attempt only if the row is still running.
var errFetchReleased = errors.New("sqlstore: job's fetch was released as lost before it reached its worker; not worked")

func newOrphans(cfg store.OrphanRelease, log *slog.Logger, f *Flavor, db Querier) *orphans {
	if cfg.Every <= 0 {
		cfg.Every = 5 * time.Second
	}
	return &orphans{cfg: cfg, log: log, f: f, db: db, started: map[fetch]time.Time{}, released: map[fetch]time.Time{}}
}

// middleware records each fetch before its job's work begins.
func (o *orphans) middleware() rivertype.Middleware {
	return river.WorkerMiddlewareFunc(func(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
		if job.AttemptedAt == nil {
			return doInner(ctx)
		}
		k := fetch{id: job.ID, at: job.AttemptedAt.UnixMilli()}
		o.mu.Lock()
		_, gone := o.released[k]
		if !gone {
			o.started[k] = time.Now()
		}
		o.mu.Unlock()
		if gone {
			o.log.Warn("queue: a fetched job reached its worker after it was put back as lost; not working it on this fetch",
				"job_id", job.ID, "kind", job.Kind)
			return errFetchReleased
		}
		return doInner(ctx)
	})
}

// keep is how long a recorded fetch is remembered: longer than the sweep looks back (Within),
// measured from the worker's start, which is after the fetch.
func (o *orphans) keep() time.Duration { return o.cfg.Within + time.Minute }

// run sweeps every Every until ctx ends.
func (o *orphans) run(ctx context.Context) {
	t := time.NewTicker(o.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := o.sweep(ctx); err != nil && ctx.Err() == nil {
			o.log.Debug("queue: looking for lost fetches", "error", err)
		}
	}
}

type candidate struct {
	id   int64
	kind string
	at   int64 // milliseconds
	raw  any   // attempted_at as the database compares it
}

// sweep puts back the lost fetches and returns how many. Errors are expected while the
// database is down; the next sweep after it answers does the work.
func (o *orphans) sweep(ctx context.Context) (int, error) {
	o.prune(time.Now())
	cands, err := o.candidates(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cands {
		k := fetch{id: c.id, at: c.at}
		o.mu.Lock()
		_, started := o.started[k]
		if !started {
			o.released[k] = time.Now()
		}
		o.mu.Unlock()
		if started {
			continue
		}
		ok, err := o.release(ctx, c)
		if err != nil {
			// Not put back: forget the mark, so a worker that does get the job works it.
			o.mu.Lock()
			delete(o.released, k)
			o.mu.Unlock()
			return n, err
		}
		if !ok {
			continue
		}
		n++
		o.log.Warn("queue: put back a job this replica fetched but never worked (the database failed before answering the fetch); it runs again now instead of after River's rescue",
			"job_id", c.id, "kind", c.kind, "client_id", o.clientID)
		if o.cfg.Released != nil {
			o.cfg.Released(c.kind)
		}
	}
	return n, nil
}

func (o *orphans) prune(now time.Time) {
	horizon := now.Add(-o.keep())
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, at := range o.started {
		if at.Before(horizon) {
			delete(o.started, k)
		}
	}
	for k, at := range o.released {
		if at.Before(horizon) {
			delete(o.released, k)
		}
	}
}

// candidates reads the running jobs last attempted by this client, attempted between Within
// and After ago by the database's clock (the one attempted_at was written with).
func (o *orphans) candidates(ctx context.Context) ([]candidate, error) {
	var q string
	if o.f.timeAsInt { // SQLite: attempted_at is River's text, attempted_by JSON
		q = `SELECT id, kind, cast(attempted_at AS text) FROM river_job
			WHERE state = 'running' AND json_extract(attempted_by, '$[#-1]') = ?1
			AND julianday(attempted_at) < julianday('now') - ?2 / 86400.0
			AND julianday(attempted_at) > julianday('now') - ?3 / 86400.0
			ORDER BY id LIMIT 1000`
	} else {
		q = `SELECT id, kind, attempted_at FROM river_job
			WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $1
			AND attempted_at < now() - make_interval(secs => $2)
			AND attempted_at > now() - make_interval(secs => $3)
			ORDER BY id LIMIT 1000`
	}
	rows, err := o.db.Query(ctx, q, o.clientID, o.cfg.After.Seconds(), o.cfg.Within.Seconds())
	if err != nil {
		return nil, wrap("lost fetches", err)
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var c candidate
		if o.f.timeAsInt {
			var s string
			if err := rows.Scan(&c.id, &c.kind, &s); err != nil {
				return nil, wrap("lost fetches", err)
			}
			t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", s, time.UTC)
			if err != nil {
				continue // not River's format: leave it to the rescuer
			}
			c.at, c.raw = t.UnixMilli(), s
		} else {
			var t time.Time
			if err := rows.Scan(&c.id, &c.kind, &t); err != nil {
				return nil, wrap("lost fetches", err)
			}
			c.at, c.raw = t.UnixMilli(), t
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("lost fetches", err)
	}
	return out, nil
}

// release makes the job available again if it is still running on the same fetch. The lost
// fetch ran nothing, so its attempt is given back (as River does for a snooze).
func (o *orphans) release(ctx context.Context, c candidate) (bool, error) {
	var q string
	if o.f.timeAsInt {
		q = `UPDATE river_job SET state = 'available', attempt = max(attempt - 1, 0)
			WHERE id = ?1 AND state = 'running' AND attempted_at = ?2 AND json_extract(attempted_by, '$[#-1]') = ?3`
	} else {
		q = `UPDATE river_job SET state = 'available', attempt = greatest(attempt - 1, 0)
			WHERE id = $1 AND state = 'running' AND attempted_at = $2 AND attempted_by[array_length(attempted_by, 1)] = $3`
	}
	n, err := o.db.Exec(ctx, q, c.id, c.raw, o.clientID)
	if err != nil {
		return false, wrap(fmt.Sprintf("put back job %d", c.id), err)
	}
	return n == 1, nil
}
