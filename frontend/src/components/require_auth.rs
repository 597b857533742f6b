use crate::components::loading::Loading;
use crate::pages::login::LoginPage;
use crate::state::expect_auth;
use leptos::prelude::*;

/// Shows its children to a signed-in user, and the sign-in form (at the same URL) otherwise.
#[component]
pub fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let auth = expect_auth();
    let session = Memo::new(move |_| (auth.checked.get(), auth.me.with(Option::is_some)));
    move || {
        let (checked, signed_in) = session.get();
        if !checked {
            view! { <Loading what="your session" /> }.into_any()
        } else if !signed_in {
            view! { <LoginPage /> }.into_any()
        } else {
            children().into_any()
        }
    }
}
