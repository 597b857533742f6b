use leptos::prelude::*;
use portcullis_shared::api::{NsgChange, RuleChangeKind};

/// One NSG's planned change: rules added, removed and changed, each with its reason.
#[component]
pub fn RuleDiffView(change: NsgChange) -> impl IntoView {
    let (added, removed, changed) = diff_counts(&change);
    view! {
        <section class="rule-diff" data-testid="rule-diff">
            <header class="rule-diff-header">
                <h4>{change.nsg_name.clone()}</h4>
                {change.create.then(|| view! { <span class="tag">"new NSG"</span> })}
                <span class="rule-diff-summary" data-testid="rule-diff-summary">
                    {format!("{added} added, {removed} removed, {changed} changed")}
                </span>
            </header>
            <ul class="rule-diff-list">
                {change
                    .diff
                    .into_iter()
                    .map(|d| {
                        let (sign, class, word) = match d.change {
                            RuleChangeKind::Added => ("+", "diff-added", "added"),
                            RuleChangeKind::Removed => ("−", "diff-removed", "removed"),
                            RuleChangeKind::Changed => ("~", "diff-changed", "changed"),
                        };
                        view! {
                            <li class=class data-change=word>
                                <span class="diff-sign" aria-hidden="true">{sign}</span>
                                <span class="visually-hidden">{word}": "</span>
                                <code>{d.rule}</code>
                                <span class="diff-text">{d.summary}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// (added, removed, changed) rules of a change.
pub fn diff_counts(change: &NsgChange) -> (usize, usize, usize) {
    let count = |kind| change.diff.iter().filter(|d| d.change == kind).count();
    (
        count(RuleChangeKind::Added),
        count(RuleChangeKind::Removed),
        count(RuleChangeKind::Changed),
    )
}
