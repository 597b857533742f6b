//! Prometheus metrics at `/metrics`, in the text exposition format (hand-rolled: a few
//! counters and gauges need no crate): requests and latency by matched route, snapshot
//! durations and failures, the control score.
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 8] = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0];

#[derive(Debug, Default)]
struct Route {
    count: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

#[derive(Debug, Default)]
struct Inner {
    routes: BTreeMap<(String, String), Route>,
    snapshots: u64,
    snapshot_failures: u64,
    snapshot_seconds_sum: f64,
    last_snapshot_seconds: f64,
    score: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let r = m
            .routes
            .entry((method.to_string(), route.to_string()))
            .or_default();
        *r.count.entry(status).or_default() += 1;
        let s = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                r.buckets[i] += 1;
            }
        }
        r.sum += s;
        r.total += 1;
    }

    pub fn snapshot_taken(&self, took: Duration, score: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.snapshots += 1;
        m.snapshot_seconds_sum += took.as_secs_f64();
        m.last_snapshot_seconds = took.as_secs_f64();
        m.score = Some(score);
    }

    pub fn snapshot_failed(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .snapshot_failures += 1;
    }

    pub fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut o = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        o.push_str("# HELP portcullis_http_requests_total HTTP requests by method, matched route and status.\n# TYPE portcullis_http_requests_total counter\n");
        for ((method, route), r) in &m.routes {
            for (status, n) in &r.count {
                let _ = writeln!(o, "portcullis_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}", esc(route));
            }
        }
        o.push_str("# HELP portcullis_http_request_duration_seconds Request latency by matched route.\n# TYPE portcullis_http_request_duration_seconds histogram\n");
        for ((method, route), r) in &m.routes {
            let route = esc(route);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(o, "portcullis_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"{b}\"}} {}", r.buckets[i]);
            }
            let _ = writeln!(o, "portcullis_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"+Inf\"}} {}", r.total);
            let _ = writeln!(o, "portcullis_http_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\"}} {}", r.sum);
            let _ = writeln!(o, "portcullis_http_request_duration_seconds_count{{method=\"{method}\",route=\"{route}\"}} {}", r.total);
        }
        let _ = writeln!(o, "# HELP portcullis_snapshots_total Snapshots taken.\n# TYPE portcullis_snapshots_total counter\nportcullis_snapshots_total {}", m.snapshots);
        let _ = writeln!(o, "# HELP portcullis_snapshot_failures_total Snapshots that failed.\n# TYPE portcullis_snapshot_failures_total counter\nportcullis_snapshot_failures_total {}", m.snapshot_failures);
        let _ = writeln!(o, "# HELP portcullis_snapshot_duration_seconds_sum Time spent taking snapshots.\n# TYPE portcullis_snapshot_duration_seconds_sum counter\nportcullis_snapshot_duration_seconds_sum {}", m.snapshot_seconds_sum);
        let _ = writeln!(o, "# HELP portcullis_last_snapshot_duration_seconds Duration of the last snapshot.\n# TYPE portcullis_last_snapshot_duration_seconds gauge\nportcullis_last_snapshot_duration_seconds {}", m.last_snapshot_seconds);
        if let Some(s) = m.score {
            let _ = writeln!(o, "# HELP portcullis_control_score Secure management ports score (of 8).\n# TYPE portcullis_control_score gauge\nportcullis_control_score {s}");
        }
        o
    }
}
