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
