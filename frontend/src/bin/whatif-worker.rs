//! A Web Worker (its own small WASM, loaded only when the wizard's review step opens): runs the
//! shared remediation planner on an inventory, off the main thread, so the dashboard's own WASM
//! carries no engine. Message in: `{"inventory": {...}, "request": {...}}` (JSON text); message
//! out: `"ready"` once listening, then `{"ok": RemediationPlan}` or `{"err": "..."}`.
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

fn main() {
    console_error_panic_hook::set_once();
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply_to = scope.clone();
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let input = event.data().as_string().unwrap_or_default();
            let output = portcullis_frontend::whatif::plan_json(&input);
            let _ = reply_to.post_message(&JsValue::from_str(&output));
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // Messages that arrive before the WASM has started are lost: say when to send.
    let _ = scope.post_message(&JsValue::from_str("ready"));
}
