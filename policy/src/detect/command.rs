//! Command and argument injection into argv execs (exec family, `posix_spawn`), where no shell
//! parses anything and the argument vector *is* the structure.
//!
//! Without a shell an input cannot add operators; it can only occupy a whole argv element.
//! Two positions turn that into code:
//!
//! * `command.executable`: the input is the program (the path, `argv[0]`, or the program
//!   behind a wrapper such as `env`, `sudo -u x`, `timeout 5`, `busybox`);
//! * `command.argument-injection`: the input is (or begins) an argument that starts with `-`
//!   before any `--`, so the program reads it as an option: `-oProxyCommand=…` for ssh,
//!   `--upload-pack=…` for git, `--output=/tmp/x` for curl, `-exec` for find.
//!
//! An input that is an operand (`ls -l NAME`, `grep -- -v file`, `convert a.png b.jpg`) is
//! data. Shells are different: [`shell_script`] finds the script of `sh -c SCRIPT` (also
//! `bash -ec`, `bash --norc -c`, `env sh -c`, `busybox sh -c`) so the engine can give it to
//! the shell detector instead.
//!
//! A finding's span is a byte range of the argv element it names (the program word, or the
//! option argument), not of a joined command line.
//!
//! Coincidence guard: a plain input that equals the program or an option *and* also appears
//! as an ordinary operand (`git grep -e git` for the search term `git`) is not reported.

use crate::config::DetectorSettings;
use crate::detect::shell::prefix::{self, Step, WrapperArgs};
use crate::finding::{Confidence, DetectorKind, Finding};
use crate::input::InputRef;

/// Wrappers followed at most this deep (`sudo env nice sh -c …`).
const MAX_WRAPPERS: usize = 8;

/// Shells whose `-c` argument is a script.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "rbash"];

/// Long shell options that take a value in the next argument.
const SHELL_LONG_WITH_VALUE: &[&str] = &["--rcfile", "--init-file"];

/// The program words of an exec: `(argv index, word)`, index `None` for the path.
///
/// The chain starts with the path and `argv[0]` and continues through wrappers, so
/// `env -i sh -c x` yields `env` and then `sh` (at index 2).
fn programs<'a>(prog: &'a str, argv: &'a [String]) -> Vec<(Option<usize>, &'a str)> {
    let mut chain = vec![(None, prog)];
    if let Some(first) = argv.first() {
        chain.push((Some(0), first.as_str()));
    }
    let mut at = 0;
    for _ in 0..MAX_WRAPPERS {
        let word = argv.get(at).map_or("", |a| prefix::basename(a));
        let spec = prefix::lookup(word).or_else(|| {
            // The path's wrapper counts when argv[0] names the same program (or is missing);
            // a multi-call binary (`busybox` run as `sh`) dispatches on argv[0] instead.
            let path = prefix::basename(prog);
            (at == 0 && (word.is_empty() || word == path))
                .then(|| prefix::lookup(path))
                .flatten()
        });
        let Some(spec) = spec else { break };
        let mut args = WrapperArgs::new(spec);
        let next = argv
            .iter()
            .enumerate()
            .skip(at + 1)
            .find(|(_, a)| args.feed(a) == Step::Program);
        let Some((i, word)) = next else { break };
        chain.push((Some(i), word.as_str()));
        at = i;
    }
    chain
}

/// The script argument when the program (path, `argv[0]`, or the program behind `env`,
/// `busybox`, `sudo`…) is a shell run with `-c` (alone or combined: `-ec`, `-xc`, `-lc`).
pub fn shell_script<'a>(prog: &str, argv: &'a [String]) -> Option<&'a str> {
    let chain = programs(prog, argv);
    let (index, _) = chain
        .iter()
        .find(|(_, word)| SHELLS.contains(&prefix::basename(word)))?;
    let mut i = index.unwrap_or(0) + 1;
    let mut has_c = false;
    while let Some(arg) = argv.get(i) {
        if arg == "--" || arg == "-" {
            i += 1;
            break;
        }
        if arg.starts_with("--") {
            i += if SHELL_LONG_WITH_VALUE.contains(&arg.as_str()) {
                2
            } else {
                1
            };
            continue;
        }
        let flags = arg.strip_prefix('-').or_else(|| arg.strip_prefix('+'));
        match flags {
            Some(flags) if !flags.is_empty() => {
                has_c |= arg.starts_with('-') && flags.contains('c');
                // `-o OPTION` and `-O SHOPT` take the next argument.
                i += 1 + flags.bytes().filter(|b| matches!(b, b'o' | b'O')).count();
            }
            _ => break,
        }
    }
    if has_c {
        argv.get(i).map(String::as_str)
    } else {
        None
    }
}

/// Checks an argv exec: an input that is the program, or an option of it.
pub fn check(
    prog: &str,
    argv: &[String],
    candidates: &[InputRef<'_>],
    cfg: &DetectorSettings,
) -> Option<Finding> {
    let min = cfg.min_input_len.max(1);
    let chain = programs(prog, argv);
    let program_name = chain.last().map_or(prog, |(_, w)| *w);
    let last_program = chain.iter().filter_map(|(i, _)| *i).max().unwrap_or(0);
    let operands_from = last_program + 1;
    let end_of_options = argv
        .iter()
        .skip(operands_from)
        .position(|a| a == "--")
        .map_or(argv.len(), |p| p + operands_from);
    let is_program_index = |i: usize| chain.iter().any(|(idx, _)| *idx == Some(i));
    let mut best: Option<Finding> = None;
    for &input in candidates.iter().filter(|i| i.value.len() >= min) {
        let value = input.value;
        let operand_elsewhere = argv
            .iter()
            .enumerate()
            .skip(operands_from)
            .any(|(i, a)| a == value && (i > end_of_options || !a.starts_with('-')));
        let finding = executable(input, &chain, operand_elsewhere).or_else(|| {
            argv.iter()
                .enumerate()
                .take(end_of_options)
                .skip(operands_from)
                .filter(|(i, _)| !is_program_index(*i))
                .find_map(|(i, arg)| option(input, i, arg, program_name, operand_elsewhere))
        });
        if let Some(f) = finding {
            if best.as_ref().is_none_or(|b| f.confidence > b.confidence) {
                let high = f.confidence == Confidence::High;
                best = Some(f);
                if high {
                    break;
                }
            }
        }
    }
    best
}

/// `command.executable`: the input is a program word of the chain.
fn executable(
    input: InputRef<'_>,
    chain: &[(Option<usize>, &str)],
    operand_elsewhere: bool,
) -> Option<Finding> {
    let value = input.value;
    let has_path = value.contains('/');
    // argv[0] is only a name for the program `execve` is given (which the chain holds too):
    // an input equal to it chooses nothing.
    let (index, word) = chain
        .iter()
        .filter(|(i, _)| *i != Some(0))
        .find(|(_, w)| *w == value || (has_path && w.ends_with(value)))?;
    if !has_path && operand_elsewhere {
        return None;
    }
    // The application chose the directory and the input picks a program inside it (a CGI
    // host mapping /cgi-bin/x.sh to <root>/cgi-bin/x.sh): only climbing out of it is code.
    let app_dir = word.get(..word.len() - value.len()).unwrap_or("");
    let climbs = value.split('/').any(|seg| seg == "..");
    if *word != value && !app_dir.trim_end_matches('/').is_empty() && !climbs {
        return None;
    }
    let place = index.map_or_else(|| "program path".to_owned(), |i| format!("argv[{i}]"));
    Some(Finding {
        detector: DetectorKind::Command,
        rule_id: "command.executable".into(),
        input: Some(input.to_input()),
        span: Some((word.len() - value.len(), word.len())),
        reason: format!("input `{value}` chooses the program that runs (the {place} `{word}`)"),
        confidence: if has_path {
            Confidence::High
        } else {
            Confidence::Medium
        },
    })
}

/// `command.argument-injection`: the argument `arg` (argv index `i`) begins with the input
/// and is an option.
fn option(
    input: InputRef<'_>,
    i: usize,
    arg: &str,
    program: &str,
    operand_elsewhere: bool,
) -> Option<Finding> {
    let value = input.value;
    let rest = value.strip_prefix('-')?;
    if !arg.starts_with(value) || arg == "--" || rest.is_empty() {
        return None;
    }
    let negative_number = rest.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if negative_number || (arg == value && operand_elsewhere) {
        return None;
    }
    Some(Finding {
        detector: DetectorKind::Command,
        rule_id: "command.argument-injection".into(),
        input: Some(input.to_input()),
        span: Some((0, value.len())),
        reason: format!(
            "input `{value}` becomes the option `{arg}` (argv[{i}]) of `{}`",
            prefix::basename(program)
        ),
        confidence: Confidence::High,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Input;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn run(prog: &str, words: &[&str], value: &str) -> Option<Finding> {
        let input = Input::new("query.q", value);
        check(
            prog,
            &argv(words),
            &[input.view()],
            &DetectorSettings::default(),
        )
    }

    #[test]
    fn finds_shell_scripts() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("/bin/sh", &["sh", "-c", "id"], Some("id")),
            ("/bin/bash", &["bash", "-ec", "id"], Some("id")),
            (
                "/bin/bash",
                &["bash", "--norc", "-c", "id", "x"],
                Some("id"),
            ),
            (
                "/bin/bash",
                &["bash", "-o", "pipefail", "-c", "id"],
                Some("id"),
            ),
            ("/bin/bash", &["-bash", "-lc", "id"], Some("id")),
            (
                "/usr/bin/env",
                &["env", "-i", "A=1", "sh", "-c", "id"],
                Some("id"),
            ),
            ("/bin/busybox", &["busybox", "sh", "-c", "id"], Some("id")),
            ("/bin/busybox", &["sh", "-c", "id"], Some("id")),
            ("/bin/sh", &["sh", "-e", "-c", "--", "id"], Some("id")),
            ("/bin/sh", &["sh", "script.sh"], None),
            ("/bin/sh", &["sh", "-c"], None),
            ("/usr/bin/convert", &["convert", "-c", "x"], None),
        ];
        for (prog, words, want) in cases {
            assert_eq!(shell_script(prog, &argv(words)), *want, "{prog} {words:?}");
        }
    }

    #[test]
    fn flags_executables_and_wrapped_programs() {
        let f = run("/tmp/x", &["/tmp/x"], "/tmp/x").expect("path");
        assert_eq!(f.rule_id, "command.executable");
        assert_eq!(f.confidence, Confidence::High);
        assert!(run("/usr/bin/env", &["env", "uptime"], "uptime").is_some());
        let f = run(
            "/usr/bin/sudo",
            &["sudo", "-u", "www", "../../tmp/x"],
            "../../tmp/x",
        );
        assert!(f.is_some());
    }

    #[test]
    fn a_program_picked_inside_the_applications_directory_is_data() {
        let script = "/srv/www/cgi-bin/notes.sh";
        assert!(
            run(script, &["notes.sh"], "/cgi-bin/notes.sh").is_none(),
            "CGI dispatch"
        );
        assert!(
            run(script, &["notes.sh"], "notes.sh").is_none(),
            "argv[0] names, path runs"
        );
        let f = run(
            "/srv/www/cgi-bin/../../../bin/sh",
            &["sh"],
            "/cgi-bin/../../../bin/sh",
        );
        assert!(
            f.is_some(),
            "climbing out of the directory chooses any program"
        );
        assert!(
            run("/usr/bin/id", &["id"], "usr/bin/id").is_some(),
            "a root prefix is no directory"
        );
    }

    #[test]
    fn flags_option_injection() {
        let f = run(
            "/usr/bin/ssh",
            &["ssh", "-oProxyCommand=id", "host"],
            "-oProxyCommand=id",
        )
        .expect("ssh");
        assert_eq!(f.rule_id, "command.argument-injection");
        assert!(
            run(
                "/usr/bin/curl",
                &["curl", "--output=/tmp/x", "u"],
                "--output=/tmp/x"
            )
            .is_some()
        );
    }

    #[test]
    fn operands_are_data() {
        assert!(run("/bin/ls", &["ls", "-l", "notes.txt"], "notes.txt").is_none());
        assert!(run("/bin/grep", &["grep", "--", "-v", "f"], "-v").is_none());
        assert!(run("/usr/bin/head", &["head", "-n", "-5", "f"], "-5").is_none());
        assert!(run("/usr/bin/git", &["git", "grep", "-e", "git"], "git").is_none());
        assert!(run("/usr/bin/convert", &["convert", "a.png", "b.jpg"], "a.png").is_none());
    }
}
