//! Every Java method and constructor this directory calls through JNI carries `@CalledFromNative`
//! in `java/src/main/java`, with as many parameters as the descriptor the call uses, and no
//! annotation is left on a method nothing calls. Source-level: it reads the call sites
//! (`call_method`, `call_host`, `call_static_method`, `new_object`) from the files here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// JDK methods called from here (they are not ours to annotate): (name, descriptor).
const JDK_METHODS: &[(&str, &str)] = &[("setName", "(Ljava/lang/String;)V"), ("currentThread", "()Ljava/lang/Thread;")];

/// `new_object` call sites whose class is a variable: (file, variable, the class it holds there).
const CLASS_VARIABLES: &[(&str, &str, &str)] = &[("exceptions.rs", "class", "org/venicedb/blobtransfer/BlobTransferException")];

const PACKAGE: &str = "org/venicedb/blobtransfer/";

/// A Java member native code calls: class (None for a method reached through an object), name
/// (`<init>` for a constructor) and parameter count.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Called {
    class: Option<String>,
    name: String,
    params: usize,
    site: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The arguments of the call whose `(` is at `open`, split at top-level commas.
fn arguments(src: &str, open: usize) -> Vec<String> {
    let bytes = src.as_bytes();
    let (mut depth, mut in_str, mut i, mut start) = (0i32, false, open, open + 1);
    let mut args = Vec::new();
    while i < bytes.len() {
        let c = bytes[i];
        if in_str {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_str = false;
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        args.push(src[start..i].trim().to_string());
                        return args;
                    }
                }
                b',' if depth == 1 => {
                    args.push(src[start..i].trim().to_string());
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    panic!("unbalanced call at byte {open}");
}

fn literal(arg: &str) -> Option<&str> {
    arg.strip_prefix('"')?.strip_suffix('"')
}

/// Parameters in a JNI method descriptor `(…)R`.
fn descriptor_params(desc: &str) -> usize {
    let inner = &desc[1..desc.find(')').expect("descriptor has ')'")];
    let (mut n, mut chars) = (0, inner.chars());
    while let Some(c) = chars.next() {
        match c {
            '[' => continue, // the element type that follows is the parameter
            'L' => {
                for c in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                }
                n += 1;
            }
            _ => n += 1,
        }
    }
    n
}

fn native_calls() -> Vec<Called> {
    let dir = root().join("src/jni");
    let mut out = Vec::new();
    let mut generic = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") || file == "called_from_native.rs" {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        // (marker, index of the name argument, index of the class argument or none)
        for (marker, name_at, class_at, desc_at) in [
            (".call_method(", 1, None, 2),
            ("call_host(", 2, None, 3),
            (".call_static_method(", 1, Some(0), 2),
            (".new_object(", usize::MAX, Some(0), 1),
        ] {
            for (at, _) in src.match_indices(marker) {
                if marker == "call_host(" && src[..at].ends_with("fn ") {
                    continue; // the helper's own definition
                }
                let args = arguments(&src, at + marker.len() - 1);
                let site = format!("{file}: {marker}{}", args.join(", "));
                let Some(desc) = literal(&args[desc_at]) else {
                    generic.push(site);
                    continue;
                };
                let name = if name_at == usize::MAX {
                    "<init>".to_string()
                } else {
                    match literal(&args[name_at]) {
                        Some(n) => n.to_string(),
                        None => {
                            generic.push(site);
                            continue;
                        }
                    }
                };
                let class = class_at.map(|i| match literal(&args[i]) {
                    Some(c) => c.to_string(),
                    None => CLASS_VARIABLES
                        .iter()
                        .find(|(f, v, _)| *f == file && *v == args[i])
                        .unwrap_or_else(|| panic!("{site}: add its class variable to CLASS_VARIABLES"))
                        .2
                        .to_string(),
                });
                if JDK_METHODS.contains(&(name.as_str(), desc)) || class.as_deref().is_some_and(|c| c.starts_with("java/")) {
                    continue;
                }
                out.push(Called { class, name, params: descriptor_params(desc), site });
            }
        }
    }
    // Exactly one call takes its name from a variable: call_host's own `env.call_method(adapter, name, sig, args)`.
    assert_eq!(generic.len(), 1, "call sites whose name or descriptor is not a literal: {generic:#?}");
    out.sort();
    out
}

/// An annotated declaration in the Java sources: (class file stem, name or `<init>`, parameter count).
fn annotated() -> Vec<(String, String, usize)> {
    let dir = root().join("java/src/main/java").join(PACKAGE);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let src = std::fs::read_to_string(&path).unwrap();
        let mut rest = src.as_str();
        while let Some(at) = rest.find("\n    @CalledFromNative\n") {
            rest = &rest[at + "\n    @CalledFromNative\n".len()..];
            let open = rest.find('(').expect("a declaration follows @CalledFromNative");
            let name = rest[..open].split_whitespace().last().unwrap().to_string();
            let close = rest.find(')').unwrap();
            let params = rest[open + 1..close].trim();
            let count = if params.is_empty() { 0 } else { java_params(params) };
            let name = if name == stem { "<init>".to_string() } else { name };
            out.push((stem.clone(), name, count));
        }
    }
    out
}

/// Parameters in a Java parameter list (commas outside `<…>`).
fn java_params(list: &str) -> usize {
    let mut depth = 0;
    1 + list
        .chars()
        .filter(|c| {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                _ => {}
            }
            *c == ',' && depth == 0
        })
        .count()
}

fn class_stem(class: &str) -> String {
    let simple = class.strip_prefix(PACKAGE).unwrap_or_else(|| panic!("{class} is not in {PACKAGE}"));
    simple.split('$').next().unwrap().to_string()
}

#[test]
fn every_java_member_native_code_calls_is_annotated() {
    let calls = native_calls();
    let annotated = annotated();
    let names: BTreeSet<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    // The calls this directory is known to make; a new one lands here and must be annotated.
    for expected in [
        "createSnapshot",
        "discover",
        "errorCode",
        "errorMessage",
        "log",
        "onNativeSuccess",
        "onNativeFailure",
        "<init>",
        "acquire",
        "nativeDirectory",
        "nativeMetadata",
        "nativeRelease",
        "beforePublish",
        "onFileSent",
        "identity",
        "mayRead",
    ] {
        assert!(names.contains(expected), "no native call to {expected} found: {calls:#?}");
    }
    for call in &calls {
        let found = annotated.iter().any(|(stem, name, params)| {
            *name == call.name && *params == call.params && call.class.as_deref().is_none_or(|c| class_stem(c) == *stem)
        });
        assert!(
            found,
            "{}: {}{} with {} parameter(s) is not annotated @CalledFromNative in {} (annotated: {annotated:?})",
            call.site,
            call.class.as_deref().map(|c| format!("{c}.")).unwrap_or_default(),
            call.name,
            call.params,
            Path::new("java/src/main/java").join(PACKAGE).display()
        );
    }
    for (stem, name, params) in &annotated {
        assert!(
            calls.iter().any(|c| c.name == *name && c.params == *params),
            "{stem}.{name} ({params} parameters) is annotated @CalledFromNative but no native code calls it"
        );
    }
}

#[test]
fn descriptors_count_parameters() {
    assert_eq!(descriptor_params("()V"), 0);
    assert_eq!(descriptor_params("(ILjava/lang/String;I)V"), 3);
    assert_eq!(descriptor_params("(Ljava/lang/String;IJDLjava/lang/String;[B[B[Ljava/lang/String;[I[Ljava/lang/String;)V"), 10);
    assert_eq!(java_params("Map<String, String> m, int x"), 2);
}
