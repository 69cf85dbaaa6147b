//! Wall-clock time for the UI. `SystemTime::now` panics on
//! wasm32-unknown-unknown, so the webview asks JavaScript's `Date`.

/// Now, in epoch microseconds.
pub fn now_us() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        (js_sys::Date::now() * 1000.0) as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0)
    }
}
