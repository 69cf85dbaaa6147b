//! Text from the data made safe for a terminal: control characters and
//! bidirectional overrides can rewrite an operator's screen or spoof text.

use std::borrow::Cow;

/// Whether `s` holds a control character (C0, DEL, C1) or a bidirectional
/// override, any of which can rewrite an operator's terminal or spoof text.
pub fn has_control(s: &str) -> bool {
    // One pass over the bytes for the usual printable ASCII; characters
    // only when there is anything else.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        false
    } else {
        s.chars().any(is_unsafe_char)
    }
}

fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` made safe to print on a terminal: control characters and
/// bidirectional overrides as `\u{..}` escapes, everything else as it is.
/// Anything that came from the data goes through this before a terminal.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !has_control(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}
