//! No function of the engine (`src/eval/` and its subfolders) or of the fleet generator runs past 150 lines: long
//! functions are split into named phases.
use std::path::Path;

const MAX_LINES: usize = 150;

/// `(name, first line, lines)` of every function with a body in `text` (from the `fn` line to
/// the line of its closing brace, counted by braces outside strings, chars and comments).
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let Some(at) = t.find("fn ") else { continue };
        let before = &t[..at];
        let is_fn = before
            .split_whitespace()
            .all(|w| w == "pub" || w.starts_with("pub(") || w == "const" || w == "async");
        if !is_fn || t.starts_with("//") {
            continue;
        }
        let name: String = t[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // from the first `{` (or `;` for a declaration) on, match braces
        let mut depth = 0i32;
        let mut opened = false;
        let mut end = None;
        'scan: for (j, l) in lines.iter().enumerate().skip(i) {
            let mut chars = l.chars().peekable();
            let mut in_str = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' if in_str => {
                        chars.next();
                    }
                    '"' => in_str = !in_str,
                    '/' if !in_str && chars.peek() == Some(&'/') => break,
                    '\'' if !in_str => {
                        // a char literal ('{'), not a lifetime
                        let rest: String = chars.clone().take(3).collect();
                        if rest.chars().nth(1) == Some('\'') || rest.starts_with('\\') {
                            for x in chars.by_ref() {
                                if x == '\'' {
                                    break;
                                }
                            }
                        }
                    }
                    ';' if !in_str && !opened => break 'scan,
                    '{' if !in_str => {
                        depth += 1;
                        opened = true;
                    }
                    '}' if !in_str => {
                        depth -= 1;
                        if opened && depth == 0 {
                            end = Some(j);
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(end) = end {
            out.push((name, i + 1, end - i + 1));
        }
    }
    out
}

#[test]
fn no_function_of_the_engine_or_the_fleet_generator_is_over_150_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("eval.rs"), src.join("fleet.rs")];
    // `eval/` and its modules' folders (`eval/engine/`)
    let mut dirs = vec![src.join("eval")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut long = Vec::new();
    let mut seen = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (name, line, n) in functions(&text) {
            seen += 1;
            if n > MAX_LINES {
                long.push(format!("{}:{line} {name}: {n} lines", f.display()));
            }
        }
    }
    assert!(seen > 100, "the scan finds the functions ({seen})");
    assert!(
        files.iter().any(|f| f.ends_with("eval/engine/walk.rs")),
        "the scan reads the engine's submodules"
    );
    assert!(
        long.is_empty(),
        "functions over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_scan_measures_functions() {
    let text = "fn a() {\n    let s = \"}\";\n    let c = '{';\n}\n\npub(crate) fn b<'x>(x: &'x str) -> &'x str {\n    // }\n    x\n}\nfn decl();\n";
    assert_eq!(
        functions(text),
        vec![("a".to_string(), 1, 4), ("b".to_string(), 6, 4)]
    );
}
