use crate::format::{date_with_year, score_number, short_date};
use leptos::prelude::*;
use plotters::prelude::*;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: (u8, u8, u8),
    /// Dashed lines tell series apart without colour.
    pub dashed: bool,
    /// (epoch seconds, value), oldest first.
    pub points: Vec<(f64, f64)>,
}

/// Colours that read on light and dark backgrounds.
pub const PALETTE: [(u8, u8, u8); 8] = [
    (47, 128, 237),
    (235, 87, 87),
    (39, 174, 96),
    (242, 153, 74),
    (155, 81, 224),
    (45, 156, 219),
    (219, 112, 147),
    (128, 128, 128),
];

/// A line chart over time drawn by plotters into an SVG string. Axis text and grid are drawn in
/// black and turned into `currentColor`, so they follow the page's theme.
pub fn render_chart(
    series: &[Series],
    markers: &[f64],
    y_max: f64,
    y_label: &str,
    integer_y: bool,
    size: (u32, u32),
) -> String {
    let mut svg = String::new();
    let (x_min, x_max) = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(markers.iter().copied())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    if !x_min.is_finite() {
        return svg;
    }
    let (x_min, x_max) = if x_max - x_min < 3600.0 {
        (x_min - 43_200.0, x_max + 43_200.0)
    } else {
        (x_min, x_max)
    };
    let span = x_max - x_min;
    let with_year = span > 300.0 * 86_400.0;
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let y_max = if y_max <= 0.0 { 1.0 } else { y_max };
        let chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(54)
            .build_cartesian_2d(x_min..x_max, 0.0..y_max * 1.05);
        let Ok(mut chart) = chart else {
            return String::new();
        };
        let x_fmt = move |x: &f64| {
            if with_year {
                date_with_year(*x)
            } else {
                short_date(*x)
            }
        };
        let y_fmt = move |y: &f64| {
            if integer_y {
                format!("{}", y.round() as i64)
            } else {
                score_number(*y)
            }
        };
        let _ = chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(if integer_y && y_max < 6.0 {
                y_max as usize + 1
            } else {
                6
            })
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .y_desc(y_label)
            .label_style(("sans-serif", 13).into_font().color(&BLACK))
            .axis_desc_style(("sans-serif", 13).into_font().color(&BLACK))
            .bold_line_style(BLACK.mix(0.12))
            .light_line_style(BLACK.mix(0.04))
            .axis_style(BLACK.mix(0.5))
            .draw();
        for x in markers {
            let style = ShapeStyle::from(RGBColor(155, 81, 224).mix(0.7)).stroke_width(1);
            let _ = chart.draw_series(LineSeries::new([(*x, 0.0), (*x, y_max * 1.05)], style));
            let _ = chart.draw_series([TriangleMarker::new(
                (*x, y_max * 1.03),
                5,
                RGBColor(155, 81, 224).filled(),
            )]);
        }
        for s in series {
            let color = RGBColor(s.color.0, s.color.1, s.color.2);
            let style = ShapeStyle::from(color).stroke_width(if s.dashed { 2 } else { 3 });
            if s.dashed {
                let _ =
                    chart.draw_series(DashedLineSeries::new(s.points.iter().copied(), 6, 4, style));
            } else {
                let _ = chart.draw_series(LineSeries::new(s.points.iter().copied(), style));
            }
            if s.points.len() <= 60 {
                let _ =
                    chart.draw_series(s.points.iter().map(|p| Circle::new(*p, 2, color.filled())));
            }
        }
        let _ = root.present();
    }
    svg.replace("#000000", "currentColor")
        .replace("#000", "currentColor")
}

/// A chart with a caption and an HTML legend (names, colours and dash styles).
#[component]
pub fn TrendChart(
    #[prop(into)] title: String,
    series: Vec<Series>,
    markers: Vec<f64>,
    y_max: f64,
    #[prop(into)] y_label: String,
    #[prop(optional)] integer_y: bool,
    #[prop(into)] testid: String,
) -> impl IntoView {
    let svg = render_chart(&series, &markers, y_max, &y_label, integer_y, (860, 300));
    let legend = series
        .iter()
        .map(|s| {
            let (r, g, b) = s.color;
            // An SVG swatch (presentation attributes, not inline styles: the CSP forbids those).
            view! {
                <li>
                    <svg class="trend-chart-swatch" viewBox="0 0 24 6" width="24" height="6" aria-hidden="true">
                        <line x1="0" y1="3" x2="24" y2="3" stroke=format!("rgb({r},{g},{b})") stroke-width="3"
                            stroke-dasharray=if s.dashed { "6 4" } else { "none" } />
                    </svg>
                    {s.name.clone()}
                </li>
            }
        })
        .collect_view();
    view! {
        <figure class="trend-chart" data-testid=testid>
            <figcaption class="trend-chart-title">{title.clone()}</figcaption>
            <div class="trend-chart-svg" role="img" aria-label=title inner_html=svg></div>
            <ul class="trend-chart-legend">
                {legend}
                {(!markers.is_empty()).then(|| view! {
                    <li><span class="trend-chart-marker" aria-hidden="true">"▲"</span>"Remediation or JIT change"</li>
                })}
            </ul>
        </figure>
    }
}
