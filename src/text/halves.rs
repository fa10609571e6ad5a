//! A text cut in two at a line break near its middle, for automaton walks
//! that go side by side: each step of a walk waits on the load of its
//! state, so one walk leaves most of a core idle, and two independent ones
//! keep it busier. A match that stays inside a line stays inside a piece.

/// Texts shorter than this come whole: two walks' setup would cost more
/// than they win.
const SPLIT_MIN: usize = 64;

/// `text` cut after the last line break of its first half; the whole text
/// and an empty piece when it is short or has no line break there.
pub fn halves(text: &[u8]) -> (&[u8], &[u8]) {
    let cut = (text.len() >= SPLIT_MIN)
        .then(|| memchr::memrchr(b'\n', &text[..text.len() / 2]))
        .flatten();
    match cut {
        Some(at) => text.split_at(at + 1),
        None => (text, &[][..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_after_the_last_line_break_of_the_first_half() {
        let text = format!("{}\n{}\n{}", "a".repeat(30), "b".repeat(10), "c".repeat(60));
        let (one, two) = halves(text.as_bytes());
        assert_eq!(
            one,
            format!("{}\n{}\n", "a".repeat(30), "b".repeat(10)).as_bytes()
        );
        assert_eq!(two, "c".repeat(60).as_bytes());
    }

    #[test]
    fn short_texts_and_texts_without_an_early_line_break_come_whole() {
        let short = "a\nb\nc";
        assert_eq!(halves(short.as_bytes()), (short.as_bytes(), &b""[..]));
        let late = format!("{}\n{}", "a".repeat(70), "b".repeat(5));
        assert_eq!(halves(late.as_bytes()), (late.as_bytes(), &b""[..]));
    }
}
