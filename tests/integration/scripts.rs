//! The scripts a new machine runs first: finding libclang the way bindgen does.

use std::path::Path;
use std::process::Command;

fn find_libclang(dir: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/env.sh");
    let out = Command::new("bash")
        .args(["-c", r#". "$1"; find_libclang "$2""#, "-", &script.display().to_string(), &dir.display().to_string()])
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn libclang_cpp_alone_is_not_libclang() {
    // A fresh image has libclang-cpp14 (libclang-cpp.so.14), which bindgen cannot use.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("libclang-cpp.so.14"), b"").unwrap();
    assert_eq!(find_libclang(d.path()), (false, String::new()));
    for name in ["libclang-14.so.1", "libclang.so"] {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("libclang-cpp.so.14"), b"").unwrap();
        std::fs::write(d.path().join(name), b"").unwrap();
        let (found, path) = find_libclang(d.path());
        assert!(found && path.ends_with(name), "{name}: {path}");
    }
}

/// Issue #18: a clone alone has everything its code, scripts, tests and docs use. Nothing in the
/// repository may point at the reference shelf beside the checkout (the `shared` folder) or reach
/// above the checkout from the crate's own directory.
#[test]
fn nothing_points_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("git").current_dir(root).args(["ls-files", "-z"]).output().expect("git runs");
    assert!(out.status.success(), "git ls-files: {}", String::from_utf8_lossy(&out.stderr));
    let outside =
        [concat!("..", "/shared"), "shared/vectors", "shared/docs", "CARGO_MANIFEST_DIR\")).join(\"..", "CARGO_MANIFEST_DIR\"), \"/.."];
    let mut found = Vec::new();
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        if name == "tests/integration/scripts.rs" {
            continue; // this list itself
        }
        let Ok(text) = std::fs::read(root.join(&name)) else { continue };
        let text = String::from_utf8_lossy(&text);
        for (i, line) in text.lines().enumerate() {
            if outside.iter().any(|o| line.contains(o)) {
                found.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "paths outside the repository:\n{}", found.join("\n"));
}
