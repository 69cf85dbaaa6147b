// Loads the egui UI (wasm); its start function finds #gridwatch_canvas.
// Kept out of index.html because the content security policy forbids inline scripts.
import init from "./gridwatch_ui.js";

init().catch((e) => console.error("Gridwatch UI failed to start:", e));
