//! The webview side: Tauri's IPC as a [`Backend`], and the wasm entry point.

use std::cell::RefCell;
use std::rc::Rc;

use eframe::wasm_bindgen::{self, JsCast, prelude::*};
use gridwatch_types::{ApiError, ErrorCode, LiveBatch, command};
use js_sys::{Array, Function, Object, Promise, Reflect};

use crate::app::GridwatchUi;
use crate::backend::{Backend, Reply, Request};

type Inbox = Rc<RefCell<Vec<Reply>>>;

fn ipc_error(command: &'static str, message: impl Into<String>) -> Reply {
    Reply::Failed {
        command,
        error: ApiError::new(ErrorCode::Ipc, message),
    }
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
            backend
                .inbox
                .borrow_mut()
                .push(ipc_error(command::SUBSCRIBE_LIVE, describe(&e)));
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
            let reply = match to_json(&msg)
                .and_then(|v| serde_json::from_value::<LiveBatch>(v).map_err(|e| e.to_string()))
            {
                Ok(batch) => Reply::Live(batch),
                Err(e) => ipc_error(command::SUBSCRIBE_LIVE, format!("bad live batch: {e}")),
            };
            inbox.borrow_mut().push(reply);
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
            if let Err(e) = invoke(command::SUBSCRIBE_LIVE, &args.into()).await {
                inbox
                    .borrow_mut()
                    .push(ipc_error(command::SUBSCRIBE_LIVE, describe(&e)));
            }
        });
        Ok(())
    }
}

impl Backend for TauriBackend {
    fn send(&mut self, request: Request) {
        let inbox = self.inbox.clone();
        let ctx = self.ctx.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (cmd, args) = request.to_command();
            let reply = match js_sys::JSON::parse(&args.to_string()) {
                Err(e) => ipc_error(cmd, describe(&e)),
                Ok(js_args) => match invoke(cmd, &js_args).await {
                    Ok(answer) => match to_json(&answer)
                        .and_then(|v| request.parse_reply(v).map_err(|e| e.to_string()))
                    {
                        Ok(reply) => reply,
                        Err(e) => ipc_error(cmd, format!("unexpected answer: {e}")),
                    },
                    // Commands reject with a serialised ApiError.
                    Err(e) => match to_json(&e)
                        .ok()
                        .and_then(|v| serde_json::from_value::<ApiError>(v).ok())
                    {
                        Some(error) => Reply::Failed {
                            command: cmd,
                            error,
                        },
                        None => ipc_error(cmd, describe(&e)),
                    },
                },
            };
            inbox.borrow_mut().push(reply);
            ctx.request_repaint();
        });
    }

    fn poll(&mut self) -> Vec<Reply> {
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
