use crate::format::{gauge_text, percent};
use leptos::prelude::*;
use portcullis_shared::eval::report::ControlScore;

/// The control's points as a half-circle gauge with "5.33 of 8 points" and the percentage.
#[component]
pub fn ScoreGauge(score: ControlScore) -> impl IntoView {
    let fraction = if score.max_score == 0 {
        0.0
    } else {
        (score.current_score / score.max_score as f64).clamp(0.0, 1.0)
    };
    // Half circle of radius 80: length π·80.
    let length = std::f64::consts::PI * 80.0;
    let dash = format!("{:.1} {:.1}", length * fraction, length);
    let level = if !score.applicable {
        "na"
    } else if fraction >= 0.8 {
        "good"
    } else if fraction >= 0.5 {
        "fair"
    } else {
        "poor"
    };
    let text = gauge_text(&score);
    let pct = if score.applicable {
        percent(score.percentage)
    } else {
        "n/a".to_owned()
    };
    let aria = format!("Secure score: {text}, {pct}");
    view! {
        <div class=format!("score-gauge score-gauge-{level}") role="img" aria-label=aria>
            <svg viewBox="0 0 200 115" class="score-gauge-svg" aria-hidden="true">
                <path class="score-gauge-track" d="M 20 100 A 80 80 0 0 1 180 100" />
                <path class="score-gauge-value" d="M 20 100 A 80 80 0 0 1 180 100" stroke-dasharray=dash />
                <text x="100" y="88" text-anchor="middle" class="score-gauge-percent" data-testid="gauge-percent">
                    {pct}
                </text>
            </svg>
            <p class="score-gauge-text" data-testid="gauge-text">{text}</p>
            {(!score.applicable).then(|| view! { <p class="muted">"Not applicable: no VM is healthy or unhealthy."</p> })}
        </div>
    }
}
