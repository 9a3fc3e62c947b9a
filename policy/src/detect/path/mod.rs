//! Path traversal (open family and `dlopen`) and the sensitive-file rule.
//!
//! # Traversal: normalise, then ask where the input took the path
//! Peers flag an input that contains `..` and *ends* the path; that misses
//! `base + input + ".json"` and inputs used as directories (`base/INPUT/file.txt`). Here the
//! whole path is walked lexically ([`normalize`]) and split in two at the input:
//!
//! * the **base** is the directory the application's own prefix implies: the text before the
//!   input, up to and including its last `/` (`/var/www/files/` for `/var/www/files/img_`;
//!   the working directory when the prefix holds no `/`);
//! * every `..` segment of the path that overlaps the input's bytes is the input's doing.
//!
//! An input `..` that takes the walk above the base is reported as `path.traversal`: with
//! [`Confidence::High`] when the final path lies outside the base, with
//! [`Confidence::Medium`] when it climbs out and back in (`../files/x` from `files/`), which
//! no honest client sends. A `..` that stays below the base (`a/../b.txt`) is data.
//!
//! # Absolute inputs
//! An input that starts with `/` and starts the path chooses the file outright:
//! `path.absolute-input`, whether it is the whole path, gets an extension appended, or is used
//! as a directory. After an application prefix it cannot: `/srv/` + `/etc/x` is `/srv//etc/x`,
//! which the kernel resolves inside `/srv`, so it is left alone (language-level joins that
//! discard the prefix, like Python's `os.path.join`, show up here as the whole path).
//!
//! Linux has one separator: `..\` and `..hidden` are names, not climbs. NUL cannot occur
//! (sink arguments are C strings).
//!
//! Inputs shorter than `min_input_len` are skipped, except `..` itself: it only counts when it
//! forms a whole segment, so it cannot match by accident.
//!
//! Cost: one substring search per candidate input and one walk over the path's segments; at
//! most [`MAX_OCCURRENCES`] occurrences of an input are examined.

mod normalize;
mod sensitive;

pub use normalize::{Step, Walk, needs_normalizing, normalize, segments};
pub use sensitive::SensitiveMatcher;

use crate::config::DetectorSettings;
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::input::InputRef;

/// Occurrences of one input in one path that are examined; later ones are ignored (a path
/// repeating the same input more often than this is not a realistic file name).
pub const MAX_OCCURRENCES: usize = 16;

/// Checks a path (open family or `dlopen`) against the inputs that occur in it.
///
/// Returns the strongest finding: absolute inputs and traversals that end outside the base
/// first, then climbs that come back.
pub fn check(path: &str, candidates: &[InputRef<'_>], cfg: &DetectorSettings) -> Option<Finding> {
    let mut best: Option<Finding> = None;
    for &input in candidates {
        let value = input.value;
        // `..` alone is shorter than the usual minimum but is never an accidental match
        // when it forms a whole segment, which `traversal` requires.
        if value.len() < cfg.min_input_len.max(1) && value != ".." {
            continue;
        }
        for (start, _) in path.match_indices(value).take(MAX_OCCURRENCES) {
            let end = start + value.len();
            let Some(found) = check_occurrence(path, input, start, end) else {
                continue;
            };
            if found.confidence == Confidence::High {
                return Some(found);
            }
            if best.is_none() {
                best = Some(found);
            }
        }
    }
    best
}

/// Judges one occurrence of `input` at `path[start..end]`.
fn check_occurrence(path: &str, input: InputRef<'_>, start: usize, end: usize) -> Option<Finding> {
    if start == 0 && input.value.starts_with('/') {
        let how = if end == path.len() {
            "is the whole path"
        } else if path.get(end..).is_some_and(|rest| rest.starts_with('/')) {
            "chooses the directory the path starts with"
        } else {
            "starts the path"
        };
        return Some(Finding {
            detector: DetectorKind::Path,
            rule_id: "path.absolute-input".into(),
            input: Some(input.to_input()),
            span: Some((start, end)),
            reason: format!("absolute input {how}, so it picks any file on the system"),
            confidence: Confidence::High,
        });
    }
    traversal(path, input, start, end)
}

/// The traversal rule for one occurrence (see the module docs).
fn traversal(path: &str, input: InputRef<'_>, start: usize, end: usize) -> Option<Finding> {
    let prefix = path.get(..start)?;
    let value = input.value;
    // Cheap exit: no `..` inside the input and none formed with a neighbouring `.`.
    let forms_dotdot = value.contains("..")
        || (value.starts_with('.') && prefix.ends_with('.'))
        || (value.ends_with('.') && path.get(end..).is_some_and(|s| s.starts_with('.')));
    if !forms_dotdot {
        return None;
    }
    let base_end = prefix.rfind('/').map_or(0, |i| i + 1);
    let mut walk = Walk::new(path.starts_with('/'));
    let mut base: Option<Walk<'_>> = None;
    // Set when one of the input's own `..` segments takes the walk above the base.
    let mut left = false;
    for (offset, seg) in segments(path) {
        if offset < base_end {
            walk.step(seg);
            continue;
        }
        let base = base.get_or_insert_with(|| walk.clone());
        let by_input = seg == ".." && offset < end && offset + seg.len() > start;
        let step = walk.step(seg);
        if by_input {
            left |= step == Step::ClampedAtRoot || walk.depth() < base.depth();
        }
    }
    let base = base.filter(|_| left)?;
    let outside = !walk.is_within(&base);
    let (confidence, ending) = if outside {
        (Confidence::High, "ends outside it")
    } else {
        (Confidence::Medium, "climbs out of it and back in")
    };
    Some(Finding {
        detector: DetectorKind::Path,
        rule_id: "path.traversal".into(),
        input: Some(input.to_input()),
        span: Some((start, end)),
        reason: format!(
            "input adds `..` segments that climb above the application's directory `{base}`; \
             the path resolves to `{walk}` and {ending}"
        ),
        confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Input;

    fn run(path: &str, value: &str) -> Option<Finding> {
        let input = Input::new("query.file", value);
        check(path, &[input.view()], &DetectorSettings::default())
    }

    fn rule(path: &str, value: &str) -> Option<(&'static str, Confidence)> {
        run(path, value).map(|f| {
            let id = match f.rule_id {
                std::borrow::Cow::Borrowed(id) => id,
                std::borrow::Cow::Owned(_) => unreachable!("built-in rule ids are static"),
            };
            (id, f.confidence)
        })
    }

    #[test]
    fn traversal_with_app_suffix_is_caught() {
        let f = run(
            "/var/www/files/../../etc/hostname.json",
            "../../etc/hostname",
        )
        .expect("hit");
        assert_eq!(f.rule_id, "path.traversal");
        assert_eq!(f.confidence, Confidence::High);
        assert_eq!(f.span, Some((15, 33)));
        assert!(f.reason.contains("`/var/www/files`"), "{}", f.reason);
        assert!(
            f.reason.contains("`/var/etc/hostname.json`"),
            "{}",
            f.reason
        );
    }

    #[test]
    fn input_used_as_directory_is_caught() {
        assert_eq!(
            rule("/srv/data/../../../etc/conf.txt", "../../../etc"),
            Some(("path.traversal", Confidence::High))
        );
    }

    #[test]
    fn traversal_inside_prefix_is_data() {
        assert_eq!(rule("/var/www/files/a/../b.txt", "a/../b.txt"), None);
        assert_eq!(
            rule("/srv/u/alice/x/y/../../z.png", "x/y/../../z.png"),
            None
        );
    }

    #[test]
    fn climbing_out_and_back_is_medium() {
        assert_eq!(
            rule("/var/www/files/../files/x.txt", "../files/x.txt"),
            Some(("path.traversal", Confidence::Medium))
        );
    }

    #[test]
    fn climbing_above_root_is_flagged_even_when_clamped() {
        assert_eq!(
            rule("/../etc/passwd", "../etc/passwd"),
            Some(("path.traversal", Confidence::Medium))
        );
    }

    #[test]
    fn relative_paths_escape_the_working_directory() {
        assert_eq!(
            rule("../../etc/passwd", "../../etc/passwd"),
            Some(("path.traversal", Confidence::High))
        );
        assert_eq!(
            rule("uploads/../../secret", "../../secret"),
            Some(("path.traversal", Confidence::High))
        );
        assert_eq!(rule("a/../b.txt", "a/../b.txt"), None);
    }

    #[test]
    fn partial_segment_prefix_sets_the_base_directory() {
        // `img_..` is a name; the next `..` pops it, staying inside /var/www/files.
        assert_eq!(rule("/var/www/files/img_../x", "../x"), None);
        assert_eq!(
            rule("/var/www/files/img_/../../x", "/../../x"),
            Some(("path.traversal", Confidence::High))
        );
    }

    #[test]
    fn dotdot_formed_at_the_input_edge_counts() {
        assert_eq!(
            rule("/a/b/../../etc/x", "./../etc"),
            Some(("path.traversal", Confidence::High))
        );
    }

    #[test]
    fn absolute_inputs() {
        assert_eq!(
            rule("/etc/hostname", "/etc/hostname"),
            Some(("path.absolute-input", Confidence::High))
        );
        assert_eq!(
            rule("/etc/hostname.json", "/etc/hostname"),
            Some(("path.absolute-input", Confidence::High))
        );
        assert_eq!(
            rule("/etc/app/config.toml", "/etc/app"),
            Some(("path.absolute-input", Confidence::High))
        );
        // After an app prefix the kernel keeps it inside the prefix.
        assert_eq!(rule("/srv//etc/x", "/etc/x"), None);
    }

    #[test]
    fn names_with_dots_are_data() {
        for (path, input) in [
            ("/srv/docs/report.v2.final.pdf", "report.v2.final.pdf"),
            ("/srv/docs/..hidden", "..hidden"),
            ("/srv/docs/...", "..."),
            ("/srv/docs/..\\..\\win.ini", "..\\..\\win.ini"),
            ("/srv/pkgs/1.2.3/x.tar", "1.2.3"),
            ("/srv/locale/en-US/messages.json", "en-US/messages.json"),
            ("/srv/docs/./x", "./x"),
        ] {
            assert_eq!(rule(path, input), None, "{path}");
        }
    }

    #[test]
    fn short_inputs_are_ignored_except_a_bare_climb() {
        assert_eq!(rule("/srv/a/./x", "./"), None);
        assert_eq!(
            rule("/srv/site/../config.json", ".."),
            Some(("path.traversal", Confidence::High))
        );
        // `..` inside a name is not a segment.
        assert_eq!(rule("/srv/site/a..b", ".."), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(path in "[/a.é\\\\]{0,40}", value in "[/a.é]{0,12}") {
            let _ = run(&path, &value);
        }

        #[test]
        fn climbs_that_stay_below_the_prefix_are_data(names in proptest::collection::vec("[a-z]{1,6}", 1..5)) {
            // `n1/n2/../..` returns to the start: never above the prefix.
            let value = format!("{}{}x.txt", names.join("/"), "/..".repeat(names.len()) + "/");
            let path = format!("/srv/files/{value}");
            proptest::prop_assert_eq!(rule(&path, &value), None);
        }
    }

    #[test]
    fn hostile_text_does_not_panic() {
        for (path, input) in [
            ("", "abc"),
            ("é/../é", "é/.."),
            ("/../../..", "/.."),
            ("..", "..."),
            ("ü../..ü", "../.."),
        ] {
            let _ = run(path, input);
        }
    }
}
