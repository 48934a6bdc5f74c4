//! Generates the C header from `src/ffi` with cbindgen: always into `$OUT_DIR/vbt.h` (the drift
//! test in `src/ffi/tests.rs` compares the committed `include/vbt.h` with it), and into
//! `include/vbt.h` itself when `VBT_UPDATE_HEADER=1`. The header opens with the contract from
//! `src/ffi/mod.rs`'s module docs, so it is written once.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=VBT_UPDATE_HEADER");
    // scripts/install installs the cdylib as libvbt.so.<version>; a C host linking -lvbt records
    // the soname, so it must be the installed name, not cargo's libvenice_blob_transfer.so. It
    // follows the major version (libvbt.so.0 for every 0.y.z); see the README's soname policy.
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libvbt.so.{major}");
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("vbt.h");
    let header = match generate(&dir) {
        Ok(h) => h,
        Err(e) => {
            // The compiler reports the real problem (a syntax error in src/ffi); the drift test
            // then fails on the empty header.
            println!("cargo:warning=cbindgen could not generate include/vbt.h: {e}");
            String::new()
        }
    };
    fs::write(&out, &header).expect("write $OUT_DIR/vbt.h");
    if env::var("VBT_UPDATE_HEADER").is_ok_and(|v| v == "1") && !header.is_empty() {
        let committed = dir.join("include").join("vbt.h");
        if fs::read_to_string(&committed).ok().as_deref() != Some(header.as_str()) {
            fs::create_dir_all(dir.join("include")).expect("create include/");
            fs::write(&committed, &header).expect("write include/vbt.h");
        }
    }
}

fn generate(dir: &Path) -> Result<String, String> {
    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).map_err(|e| e.to_string())?;
    let module = fs::read_to_string(dir.join("src/ffi/mod.rs")).map_err(|e| e.to_string())?;
    config.header = Some(contract_comment(&module));
    let bindings =
        cbindgen::Builder::new().with_config(config).with_src(dir.join("src/ffi/mod.rs")).generate().map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    bindings.write(&mut buf);
    String::from_utf8(buf).map_err(|e| e.to_string())
}

/// The leading `//!` docs of src/ffi/mod.rs as a C comment.
fn contract_comment(module: &str) -> String {
    let mut c = String::from("/*");
    for line in module.lines().take_while(|l| l.starts_with("//!")) {
        let text = line.trim_start_matches("//!").trim_end();
        assert!(!text.contains("*/"), "the contract must not close the C comment: {text}");
        c.push_str("\n *");
        if !text.is_empty() {
            c.push_str(text);
        }
    }
    c.push_str("\n */");
    c
}
