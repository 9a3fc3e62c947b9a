//! Properties of the shell lexer and the shell/command detectors: they never panic and stay
//! fast on hostile input, and data placed the way careful applications place it is never
//! reported.

use std::time::{Duration, Instant};

use policy::config::DetectorSettings;
use policy::detect::shell::lexer::{self, TokenKind};
use policy::detect::{command, shell};
use policy::{Finding, Input, InputRef};
use proptest::prelude::*;

fn shell_check(cmd: &str, value: &str) -> Option<Finding> {
    let input = Input::new("query.q", value);
    shell::check(cmd, &[input.view()], &DetectorSettings::default())
}

/// Shell-significant fragments, to build strings that exercise every lexer path.
fn fragments() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("$("),
        Just("$(("),
        Just("${"),
        Just("`"),
        Just("("),
        Just(")"),
        Just("))"),
        Just("{"),
        Just("}"),
        Just(","),
        Just(".."),
        Just("'"),
        Just("\""),
        Just("$'"),
        Just("\\"),
        Just("\\\n"),
        Just(" "),
        Just("\t"),
        Just("\n"),
        Just(";"),
        Just(";;"),
        Just("&"),
        Just("&&"),
        Just("|"),
        Just("||"),
        Just("|&"),
        Just("<"),
        Just(">"),
        Just(">>"),
        Just("2>&1"),
        Just("&>"),
        Just("<<"),
        Just("<<-"),
        Just("<<<"),
        Just("EOF"),
        Just("#"),
        Just("$IFS"),
        Just("$1"),
        Just("A="),
        Just("--"),
        Just("-x"),
        Just("id"),
        Just("env"),
        Just("time"),
        Just("timeout 5"),
        Just("if"),
        Just("fi"),
        Just("é"),
        Just("日本"),
        Just("*"),
        Just("?"),
    ];
    prop::collection::vec(pieces, 0..200).prop_map(|v| v.concat())
}

/// A candidate input cut out of `cmd` at char boundaries chosen by two fractions.
fn cut(cmd: &str, a: usize, b: usize) -> &str {
    let bounds: Vec<usize> = cmd
        .char_indices()
        .map(|(i, _)| i)
        .chain([cmd.len()])
        .collect();
    let pick = |x: usize| bounds.get(x % bounds.len()).copied().unwrap_or(0);
    let (lo, hi) = (pick(a).min(pick(b)), pick(a).max(pick(b)));
    cmd.get(lo..hi).unwrap_or("")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn lexer_and_detector_never_panic_on_any_string(cmd in any::<String>(), a: usize, b: usize) {
        let lexed = lexer::lex(&cmd);
        for t in &lexed.tokens {
            prop_assert!(t.start <= t.end && t.end <= cmd.len());
            prop_assert!(cmd.get(t.start..t.end).is_some(), "span off a char boundary");
        }
        let _ = shell_check(&cmd, cut(&cmd, a, b));
    }

    #[test]
    fn lexer_and_detector_never_panic_on_shell_fragments(cmd in fragments(), a: usize, b: usize) {
        let lexed = lexer::lex(&cmd);
        prop_assert!(lexed.tokens.windows(2).all(|w| w[0].start <= w[1].start));
        for t in &lexed.tokens {
            prop_assert!(cmd.get(t.start..t.end).is_some());
            prop_assert!(t.depth <= lexer::MAX_DEPTH);
        }
        if let Some(f) = shell_check(&cmd, cut(&cmd, a, b)) {
            let (s, e) = f.span.unwrap_or((0, 0));
            prop_assert!(s <= e && e <= cmd.len());
        }
    }

    #[test]
    fn command_detector_never_panics(
        prog in any::<String>(),
        argv in prop::collection::vec(any::<String>(), 0..6),
        value in any::<String>(),
    ) {
        let input = Input::new("q", value);
        let _ = command::shell_script(&prog, &argv);
        let _ = command::check(&prog, &argv, &[input.view()], &DetectorSettings::default());
    }

    /// A plain word in an argument position is data.
    #[test]
    fn plain_word_arguments_are_never_flagged(
        word in "[A-Za-z0-9._][A-Za-z0-9._-]{2,30}",
        template in 0usize..5,
    ) {
        let cmd = match template {
            0 => format!("echo {word}"),
            1 => format!("ping -c 1 {word}"),
            2 => format!("convert /srv/in/{word} /tmp/out.png"),
            3 => format!("ls -l {word} | wc -l"),
            _ => format!("grep -r -- {word} /srv/docs"),
        };
        prop_assert_eq!(shell_check(&cmd, &word), None, "{}", cmd);
    }

    /// After `--`, even a dash-leading plain word is data.
    #[test]
    fn plain_words_after_end_of_options_are_never_flagged(word in "[A-Za-z0-9._-]{3,30}") {
        let cmd = format!("cat -- {word}");
        prop_assert_eq!(shell_check(&cmd, &word), None, "{}", cmd);
    }

    /// Anything without `'` inside single quotes is data.
    #[test]
    fn single_quoted_text_is_never_flagged(text in "[^'\u{0}]{3,60}") {
        let cmd = format!("grep -r -- '{text}' /srv/docs");
        prop_assume!(cmd.matches(text.as_str()).count() == 1);
        prop_assert_eq!(shell_check(&cmd, &text), None, "{}", cmd);
    }

    /// Text without `"`, `$`, backticks or backslashes inside double quotes is data (unless
    /// it starts with `-`: quotes do not stop a program from reading an option).
    #[test]
    fn double_quoted_text_is_never_flagged(text in "[^\"$`\\\\\u{0}-][^\"$`\\\\\u{0}]{2,59}") {
        let cmd = format!("logger -t app \"{text}\"");
        prop_assume!(cmd.matches(text.as_str()).count() == 1);
        prop_assert_eq!(shell_check(&cmd, &text), None, "{}", cmd);
    }

    /// An argv operand that does not start with `-` is data, whatever it contains.
    #[test]
    fn argv_operands_are_never_flagged(operand in "[^-\u{0}][^\u{0}]{2,40}") {
        let argv: Vec<String> = ["grep", "-r", "-e", operand.as_str(), "/srv"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        prop_assume!(!["grep", "/srv", "/bin/grep"].contains(&operand.as_str()));
        let input = Input::new("q", operand.clone());
        let f = command::check("/bin/grep", &argv, &[input.view()], &DetectorSettings::default());
        prop_assert_eq!(f, None);
    }

    /// Injecting `; id` after any plain word is always caught.
    #[test]
    fn appended_commands_are_always_flagged(word in "[A-Za-z0-9._]{1,20}", sep in "(;|&&|\\|\\||\\||\n|&)") {
        let value = format!("{word}{sep}id");
        let cmd = format!("ping -c 1 {value}");
        prop_assert!(shell_check(&cmd, &value).is_some(), "{:?}", cmd);
    }
}

/// Runs `f` and asserts it finishes well within a generous bound (debug build, shared CI).
fn quickly<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "{what} took {took:?}");
    out
}

#[test]
fn hostile_64k_inputs_finish_quickly() {
    const N: usize = 64 * 1024;
    let cases: Vec<(String, String)> = vec![
        ("$(".repeat(N / 2), "$($($(".into()),
        ("`".repeat(N), "```".into()),
        ("${".repeat(N / 2), "${${".into()),
        ("$((".repeat(N / 3), "$(($((".into()),
        ("(".repeat(N), "(((".into()),
        ("{a,".repeat(N / 3), "{a,{a,".into()),
        ("'a' ".repeat(N / 4), "'a' 'a'".into()),
        ("a; ".repeat(N / 3), "a; a".into()),
        (
            "cat <<a ".repeat(N / 8) + "\n" + &"x\n".repeat(N / 4),
            "x\nx".into(),
        ),
        ("aaa ".repeat(N / 4), "aaa".into()),
        (format!("echo {}", "a".repeat(N)), "aaa".into()),
        ("\\".repeat(N), "\\\\\\".into()),
        ("$((1)) ".repeat(N / 7), "$((1))".into()),
        ("1".repeat(N) + ">x", "111".into()),
        ("$((a) ".repeat(N / 6), "$((a)".into()),
    ];
    for (cmd, value) in &cases {
        let head: String = cmd.chars().take(12).collect();
        quickly(&format!("{head:?}…"), || shell_check(cmd, value));
    }
}

#[test]
fn deep_nesting_is_rejected_not_recursed() {
    let cmd = format!("echo {}", "$(".repeat(100_000));
    let lexed = quickly("deep nesting", || lexer::lex(&cmd));
    assert!(lexed.error.is_some());
    let f = shell_check(&cmd, "$($($($(").expect("deep nesting from an input is reported");
    assert_eq!(f.rule_id, "shell.unbalanced");
}

#[test]
fn many_inputs_share_one_lex() {
    let cmd = format!("convert {} /tmp/out.png", "in.png ".repeat(2000));
    let inputs: Vec<Input> = (0..500)
        .map(|i| Input::new(format!("q{i}"), format!("in.png{}", " ".repeat(i % 2))))
        .collect();
    let refs: Vec<InputRef<'_>> = inputs.iter().map(Input::view).collect();
    let f = quickly("500 inputs", || {
        shell::check(&cmd, &refs, &DetectorSettings::default())
    });
    assert_eq!(f, None);
}

#[test]
fn substitution_tokens_cover_their_contents() {
    let cmd = "echo \"$(cat `x`)\"";
    let lexed = lexer::lex(cmd);
    let subst: Vec<(usize, usize)> = lexed
        .tokens
        .iter()
        .filter(|t| matches!(t.kind, TokenKind::Substitution(_)))
        .map(|t| (t.start, t.end))
        .collect();
    assert_eq!(subst, vec![(6, 16), (12, 15)]);
}
