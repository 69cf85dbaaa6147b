//! The webview side: Tauri's IPC as a [`Backend`], and the wasm entry point.

use std::cell::RefCell;
use std::rc::Rc;

use eframe::wasm_bindgen::{self, JsCast, prelude::*};
use gridwatch_types::ipc::{CALL_COMMAND, SUBSCRIBE_LIVE_COMMAND};
use gridwatch_types::{ApiError, ErrorCode, LiveBatch, Reply, Request};
use js_sys::{Array, Function, Object, Promise, Reflect};

use crate::app::GridwatchUi;
use crate::backend::{Backend, Event, RequestId};

type Inbox = Rc<RefCell<Vec<Event>>>;

/// The IPC itself failed for request `id` (or for the live feed).
fn ipc_error(id: RequestId, kind: &'static str, message: impl Into<String>) -> Event {
    Event::Answer {
        id,
        kind,
        result: Err(ApiError::new(ErrorCode::Ipc, message)),
    }
}

fn live_error(message: impl Into<String>) -> Event {
    ipc_error(RequestId::LIVE_FEED, SUBSCRIBE_LIVE_COMMAND, message)
}

fn describe(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| js_sys::JSON::stringify(v).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown error".into())
}

/// `window.__TAURI__.core`, present because the shell sets
/// `app.withGlobalTauri`.
fn tauri_core() -> Result<JsValue, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let tauri = Reflect::get(&window, &JsValue::from_str("__TAURI__"))?;
    if tauri.is_undefined() {
        return Err(JsValue::from_str(
            "window.__TAURI__ is missing: the UI must run inside the Gridwatch app",
        ));
    }
    Reflect::get(&tauri, &JsValue::from_str("core"))
}

async fn invoke(cmd: &str, args: &JsValue) -> Result<JsValue, JsValue> {
    let core = tauri_core()?;
    let f: Function = Reflect::get(&core, &JsValue::from_str("invoke"))?.dyn_into()?;
    let p: Promise = f.call2(&core, &JsValue::from_str(cmd), args)?.dyn_into()?;
    wasm_bindgen_futures::JsFuture::from(p).await
}

fn to_json(v: &JsValue) -> Result<serde_json::Value, String> {
    if v.is_undefined() || v.is_null() {
        return Ok(serde_json::Value::Null);
    }
    let text = js_sys::JSON::stringify(v)
        .map_err(|e| describe(&e))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

pub struct TauriBackend {
    inbox: Inbox,
    ctx: egui::Context,
}

impl TauriBackend {
    /// Connects to the shell and subscribes to the live feed.
    pub fn connect(ctx: egui::Context) -> Self {
        let backend = TauriBackend {
            inbox: Rc::new(RefCell::new(Vec::new())),
            ctx,
        };
        if let Err(e) = backend.subscribe() {
            backend.inbox.borrow_mut().push(live_error(describe(&e)));
        }
        backend
    }

    fn subscribe(&self) -> Result<(), JsValue> {
        let core = tauri_core()?;
        let ctor: Function = Reflect::get(&core, &JsValue::from_str("Channel"))?.dyn_into()?;
        let channel = Reflect::construct(&ctor, &Array::new())?;
        let inbox = self.inbox.clone();
        let ctx = self.ctx.clone();
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |msg: JsValue| {
            let event = match to_json(&msg)
                .and_then(|v| serde_json::from_value::<LiveBatch>(v).map_err(|e| e.to_string()))
            {
                Ok(batch) => Event::Live(batch),
                Err(e) => live_error(format!("bad live batch: {e}")),
            };
            inbox.borrow_mut().push(event);
            ctx.request_repaint();
        });
        Reflect::set(
            &channel,
            &JsValue::from_str("onmessage"),
            on_message.as_ref(),
        )?;
        // The channel lives as long as the page: the closure must too.
        on_message.forget();
        let args = Object::new();
        Reflect::set(&args, &JsValue::from_str("onBatch"), &channel)?;
        let inbox = self.inbox.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = invoke(SUBSCRIBE_LIVE_COMMAND, &args.into()).await {
                inbox.borrow_mut().push(live_error(describe(&e)));
            }
        });
        Ok(())
    }
}

/// The one `call` command's answer to `request`: a [`Reply`], or the
/// [`ApiError`] the command rejected with.
async fn call(request: &Request) -> Result<Reply, ApiError> {
    let ipc = |message: String| ApiError::new(ErrorCode::Ipc, message);
    let args = serde_json::json!({ "request": request });
    let js_args = js_sys::JSON::parse(&args.to_string()).map_err(|e| ipc(describe(&e)))?;
    match invoke(CALL_COMMAND, &js_args).await {
        Ok(answer) => to_json(&answer)
            .and_then(|v| serde_json::from_value::<Reply>(v).map_err(|e| e.to_string()))
            .map_err(|e| ipc(format!("unexpected answer: {e}"))),
        // The command rejects with a serialised ApiError.
        Err(e) => Err(to_json(&e)
            .ok()
            .and_then(|v| serde_json::from_value::<ApiError>(v).ok())
            .unwrap_or_else(|| ipc(describe(&e)))),
    }
}

impl Backend for TauriBackend {
    fn send(&mut self, id: RequestId, request: Request) {
        let inbox = self.inbox.clone();
        let ctx = self.ctx.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = call(&request).await;
            inbox.borrow_mut().push(Event::Answer {
                id,
                kind: request.kind(),
                result,
            });
            ctx.request_repaint();
        });
    }

    fn poll(&mut self) -> Vec<Event> {
        std::mem::take(&mut *self.inbox.borrow_mut())
    }
}

struct WebApp {
    ui: GridwatchUi,
}

impl eframe::App for WebApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        if let Some(cpu) = frame.info().cpu_usage {
            self.ui.record_frame_time(cpu * 1000.0);
        }
        let clock = web_sys::window().and_then(|w| w.performance());
        let start = clock.as_ref().map(|p| p.now());
        self.ui.show(ui);
        if let (Some(p), Some(start)) = (clock, start) {
            self.ui.record_logic_time((p.now() - start) as f32);
        }
    }
}

/// Starts the UI in the page's `gridwatch_canvas`.
#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let canvas = document
        .get_element_by_id("gridwatch_canvas")
        .ok_or_else(|| JsValue::from_str("no element #gridwatch_canvas"))?
        .dyn_into::<web_sys::HtmlCanvasElement>()?;
    wasm_bindgen_futures::spawn_local(async move {
        let started = eframe::WebRunner::new()
            .start(
                canvas,
                eframe::WebOptions::default(),
                Box::new(|cc| {
                    let backend = TauriBackend::connect(cc.egui_ctx.clone());
                    Ok(Box::new(WebApp {
                        ui: GridwatchUi::new(Box::new(backend)),
                    }))
                }),
            )
            .await;
        if let Err(e) = started {
            web_sys::console::error_1(&e);
        }
    });
    Ok(())
}
