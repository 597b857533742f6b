use leptos::prelude::*;

/// A tiny line of values (oldest first) scaled to `0..=max`, as inline SVG.
#[component]
pub fn Sparkline(values: Vec<f64>, max: f64, #[prop(into)] label: String) -> impl IntoView {
    let (width, height) = (240.0, 48.0);
    // Scaled to the data (with a margin) so that small changes show; never beyond 0..=max.
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() {
        ((lo - 0.5).max(0.0), (hi + 0.5).min(max))
    } else {
        (0.0, max)
    };
    let scaled: Vec<f64> = values.iter().map(|v| v - lo).collect();
    let points = sparkline_points(&scaled, hi - lo, width, height);
    let last = values.last().copied();
    view! {
        <figure class="sparkline" data-testid="sparkline">
            <svg viewBox=format!("0 0 {width} {height}") preserveAspectRatio="none" role="img" aria-label=label.clone()>
                <polyline class="sparkline-line" points=points fill="none" />
            </svg>
            <figcaption class="muted">
                {label}
                {last.map(|v| format!(": now {}", crate::format::score_number(v)))}
            </figcaption>
        </figure>
    }
}

/// SVG `points` for values spread evenly over `width`, `max` at the top.
pub fn sparkline_points(values: &[f64], max: f64, width: f64, height: f64) -> String {
    let n = values.len();
    if n == 0 {
        return String::new();
    }
    let step = if n > 1 { width / (n - 1) as f64 } else { 0.0 };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let y = if max > 0.0 {
                height - 2.0 - (v / max).clamp(0.0, 1.0) * (height - 4.0)
            } else {
                height - 2.0
            };
            format!("{:.1},{:.1}", i as f64 * step, y)
        })
        .collect::<Vec<_>>()
        .join(" ")
}
