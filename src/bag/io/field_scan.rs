//! A validating scanner that finds one top-level field of a JSON object without building
//! anything else: the fast path of [`json_field`](super::json_field).
//!
//! serde_json reads a byte at a time through its generic `Deserializer` and `MapAccess`
//! machinery, even for the fields it ignores; on short JSON-lines records that machinery, not
//! the bytes, is most of the cost. This scanner walks the text once with tight loops and checks
//! the full JSON grammar on the way (string escapes and control characters, number syntax,
//! literals, nesting, trailing characters), so a malformed line is never accepted.
//!
//! It only answers the common cases and says `None` for anything else (a line that is not
//! valid JSON, a key with escapes, very deep nesting): the caller then runs serde_json, which
//! gives the exact error message or the value. So it must never accept invalid JSON nor report
//! a different value than serde_json; the differential tests below and in `json_field`'s tests
//! check both.

/// What a valid JSON object holds under the wanted key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// No such key.
    Missing,
    /// A string without escapes: its contents, between the quotes.
    Str(&'a str),
    /// Any other value, as its JSON text (for serde_json to build).
    Raw(&'a str),
}

/// Deeper nesting than this goes to serde_json, which has its own limits.
const MAX_DEPTH: usize = 100;

/// The bytes a string holds as they are: not a quote, a backslash or a control character.
static PLAIN: [bool; 256] = {
    let mut table = [true; 256];
    let mut c = 0;
    while c < 0x20 {
        table[c] = false;
        c += 1;
    }
    table[b'"' as usize] = false;
    table[b'\\' as usize] = false;
    table
};

/// The value of top-level key `name` in the JSON object `text`, or `None` if this scanner
/// cannot vouch for the text (including when the key repeats).
pub(crate) fn scan_field<'a>(text: &'a str, name: &str) -> Option<Found<'a>> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    s.ws();
    s.eat(b'{')?;
    s.ws();
    let wanted = name.as_bytes();
    let mut found = Found::Missing;
    if s.peek() == Some(b'}') {
        s.i += 1;
    } else {
        loop {
            s.eat(b'"')?;
            let key_start = s.i;
            if s.string()? {
                // An escaped key compares after unescaping: leave that to serde_json.
                return None;
            }
            let key = &s.b[key_start..s.i - 1];
            s.ws();
            s.eat(b':')?;
            s.ws();
            let start = s.i;
            // Length and first byte rule out most keys without a call to `memcmp`.
            if key.len() == wanted.len() && key.first() == wanted.first() && key == wanted {
                if found != Found::Missing {
                    // serde_json builds every occurrence (an earlier one can fail): its call.
                    return None;
                }
                found = if s.peek() == Some(b'"') {
                    s.i += 1;
                    let escaped = s.string()?;
                    if escaped {
                        Found::Raw(&text[start..s.i])
                    } else {
                        Found::Str(&text[start + 1..s.i - 1])
                    }
                } else {
                    s.value(1)?;
                    Found::Raw(&text[start..s.i])
                };
            } else {
                s.value(1)?;
            }
            s.ws();
            match s.next()? {
                b',' => s.ws(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.ws();
    (s.i == s.b.len()).then_some(found)
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// Skips JSON whitespace (space, tab, newline, carriage return only).
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Skips the rest of a string whose opening quote was consumed; whether it had escapes.
    fn string(&mut self) -> Option<bool> {
        let mut escaped = false;
        loop {
            // Most bytes of a string need no care: skip them in a tight loop.
            let rest = &self.b[self.i..];
            self.i += rest.iter().position(|&c| !PLAIN[c as usize]).unwrap_or(rest.len());
            match self.next()? {
                b'"' => return Some(escaped),
                b'\\' => {
                    escaped = true;
                    match self.next()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            for _ in 0..4 {
                                if !self.next()?.is_ascii_hexdigit() {
                                    return None;
                                }
                            }
                        }
                        _ => return None,
                    }
                }
                // Control characters must be escaped.
                0x00..=0x1f => return None,
                _ => {}
            }
        }
    }

    fn digits(&mut self) -> Option<()> {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        (self.i > start).then_some(())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.i += 1;
                }
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.digits()?;
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// Skips one value at nesting depth `depth`.
    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.string().map(|_| ())
            }
            b'{' => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.eat(b'"')?;
                    self.string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => self.ws(),
                        b'}' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => self.ws(),
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_and_checks_everything_else() {
        let line = r#" {"id": 7, "name": "Ada", "x": [1, -2.5e3, {"y": null}], "t": true} "#;
        assert_eq!(scan_field(line, "name"), Some(Found::Str("Ada")));
        assert_eq!(scan_field(line, "id"), Some(Found::Raw("7")));
        assert_eq!(scan_field(line, "x"), Some(Found::Raw(r#"[1, -2.5e3, {"y": null}]"#)));
        assert_eq!(scan_field(line, "nope"), Some(Found::Missing));
        assert_eq!(scan_field("{}", "a"), Some(Found::Missing));
        assert_eq!(scan_field(r#"{"a": "x\ny"}"#, "a"), Some(Found::Raw(r#""x\ny""#)));
        assert_eq!(scan_field(r#"{"a": 1, "b": 2, "b": 3}"#, "a"), Some(Found::Raw("1")));
        assert_eq!(scan_field(r#"{"a": 1, "a": 2}"#, "a"), None);
    }

    #[test]
    fn rejects_what_json_rejects() {
        for bad in [
            "",
            "[1]",
            "{",
            r#"{"a": 1,}"#,
            r#"{"a" 1}"#,
            r#"{"a": 01}"#,
            r#"{"a": 1.}"#,
            r#"{"a": .5}"#,
            r#"{"a": 1e}"#,
            r#"{"a": -}"#,
            r#"{"a": +1}"#,
            r#"{"a": tru}"#,
            r#"{"a": "x\qy"}"#,
            r#"{"a": "\u12G4"}"#,
            "{\"a\": \"tab\there\"}",
            r#"{"a": [1,]}"#,
            r#"{"a": {"b"}}"#,
            r#"{"a": 1} x"#,
            r#"{"a": 1}{}"#,
            "{\u{a0}\"a\": 1}",
            r#"{a: 1}"#,
        ] {
            assert_eq!(scan_field(bad, "a"), None, "{bad}");
        }
        // Escaped keys and deep nesting are left to serde_json.
        assert_eq!(scan_field(r#"{"\u0061": 1}"#, "a"), None);
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(scan_field(&deep, "a"), None);
    }
}
