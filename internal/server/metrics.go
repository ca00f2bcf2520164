package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dossierkast/dossierkast/internal/database"
	"github.com/dossierkast/dossierkast/internal/jobs/orphans"
)

// Metrics holds the Prometheus collectors the server exposes at /metrics.
type Metrics struct {
	registry *prometheus.Registry
	latency  *prometheus.HistogramVec
}

// NewMetrics registers HTTP latency by route pattern and status, River job counts by kind and
// state and the orphan check's latest findings (both read from the database at scrape time,
// so every process reports the same, whichever ran the check) and the Go runtime collectors.
func NewMetrics(pool *pgxpool.Pool) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dossierkast_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern, method and status.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&jobCollector{pool: pool, desc: prometheus.NewDesc("dossierkast_river_jobs",
			"Background jobs by kind and state.", []string{"kind", "state"}, nil)},
		&orphanCollector{pool: pool, desc: prometheus.NewDesc("dossierkast_orphans",
			"What the latest orphan check found older than a day: blobs without a row and rows without a blob "+
				"(left for a person to look at), and temporary files of unfinished uploads (removed).",
			[]string{"kind"}, nil)})
	return m
}

func (m *Metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.latency.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// jobCollector counts River's jobs at scrape time.
type jobCollector struct {
	pool *pgxpool.Pool
	desc *prometheus.Desc
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.pool.Query(ctx, "SELECT kind, state::text, count(*) FROM river_job GROUP BY kind, state")
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n float64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			ch <- prometheus.NewInvalidMetric(c.desc, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, kind, state)
	}
	if err := rows.Err(); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
	}
}

// orphanCollector reports the output of the latest completed orphan check (orphans.Kind), kept
// in River's job row; nothing before the first check.
type orphanCollector struct {
	pool *pgxpool.Pool
	desc *prometheus.Desc
}

func (c *orphanCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *orphanCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var res orphans.Result
	err := c.pool.QueryRow(ctx, `SELECT metadata->'output' FROM river_job WHERE kind = $1 AND state = 'completed'
		AND metadata ? 'output' ORDER BY finalized_at DESC, id DESC LIMIT 1`, orphans.Kind).Scan(&res)
	if database.IsNoRows(err) {
		return
	}
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for kind, n := range map[string]int{"blob_without_row": res.BlobsWithoutRow, "row_without_blob": res.RowsWithoutBlob,
		"unfinished_upload_removed": res.UnfinishedRemoved} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), kind)
	}
}
