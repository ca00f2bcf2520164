package stream

import "strconv"

// The benchmark (package stream_test, as it loads the demo, which imports this package through
// the delivery package) reads the delivery's own SQL through these.

// FullQuery is the SQL that reads cfg's first file in full.
func FullQuery(cfg Config) (string, error) {
	plan, err := cfg.plan()
	if err != nil {
		return "", err
	}
	q, _ := (&delivery{cfg: cfg, req: Request{Mode: ModeFull}}).query(plan[0])
	return q, nil
}

// IncrementalQueries are the SQL and arguments of an incremental delivery of cfg since from:
// the change window of table alone, and the read of cfg's first file.
func IncrementalQueries(cfg Config, from Position, table string) (window string, windowArgs []any, read string, readArgs []any, err error) {
	plan, err := cfg.plan()
	if err != nil {
		return "", nil, "", nil, err
	}
	d := &delivery{cfg: cfg, req: Request{Mode: ModeIncremental, From: from}}
	if d.fromXmin, err = from.xmin(); err != nil {
		return "", nil, "", nil, err
	}
	window = d.window(table, func(v any) string {
		windowArgs = append(windowArgs, v)
		return "$" + strconv.Itoa(len(windowArgs))
	})
	read, readArgs = d.query(plan[0])
	return window, windowArgs, read, readArgs, nil
}
