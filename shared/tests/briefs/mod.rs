//! The one-line summaries of VMs (`Model::fold_vm_briefs`, what `portcullis evaluate --format
//! table` shows) agree with the full reports: name, resource group, status, recommendations,
//! public addresses, and each open or restricted port with its reachable paths.
use portcullis_shared::eval::report::{PathKind, State, Status, VmRecommendations};
use portcullis_shared::eval::{Model, VmBrief};
use portcullis_shared::{EvalConfig, Inventory, Report};

type Exposed = Vec<(u16, String, State, Vec<(PathKind, String)>)>;

#[derive(Debug, PartialEq)]
struct Line {
    name: String,
    resource_group: String,
    status: Status,
    recommendations: VmRecommendations,
    public_ips: Vec<String>,
    exposed: Exposed,
}

fn line_of_brief(b: VmBrief<'_>) -> Line {
    Line {
        name: b.name.to_string(),
        resource_group: b.resource_group.to_string(),
        status: b.status(),
        recommendations: b.recommendations,
        public_ips: b.public_ips.iter().map(|s| s.to_string()).collect(),
        exposed: b
            .exposed
            .iter()
            .map(|e| {
                let via = e.reachable_via.iter().map(|(k, f)| (*k, f.to_string()));
                (e.port, e.protocol.to_string(), e.state, via.collect())
            })
            .collect(),
    }
}

/// Checks every VM's brief against its report, and that the briefs raise the report's
/// warnings about VMs.
pub fn briefs_agree(inv: &Inventory, report: &Report) {
    let model = Model::build(inv, &EvalConfig::default()).expect("builds");
    let (todo, _) = model.vm_order();
    let mut lines = Vec::new();
    let mut warnings = Vec::new();
    for (chunk, w) in model.fold_vm_briefs(&todo, Vec::new, |acc, b| acc.push(line_of_brief(b))) {
        lines.extend(chunk);
        warnings.extend(w);
    }
    let want: Vec<Line> = report
        .vms
        .iter()
        .map(|v| Line {
            name: v.name.clone(),
            resource_group: v.resource_group.clone(),
            status: v.status,
            recommendations: v.recommendations,
            public_ips: v.public_ips.clone(),
            exposed: v
                .exposures
                .iter()
                .filter(|e| matches!(e.state, State::Open | State::Restricted))
                .map(|e| {
                    let via = e.paths.iter().filter(|p| p.reachable);
                    let via = via.map(|p| (p.kind, p.frontend.to_string()));
                    (e.port, e.protocol.to_string(), e.state, via.collect())
                })
                .collect(),
        })
        .collect();
    assert_eq!(lines.len(), want.len(), "one brief per reported VM");
    for (got, want) in lines.iter().zip(&want) {
        assert_eq!(
            got, want,
            "the brief of VM {} differs from its report",
            want.name
        );
    }
    for w in &warnings {
        assert!(
            report.warnings.contains(w),
            "a warning the report lacks: {w}"
        );
    }
}
