//! The result codes are one table: Rust's ErrorKind, C's vbt_result (include/vbt.h) and Java's
//! BlobTransferException.Code must list the same names with the same numbers.

use std::path::Path;

use venice_blob_transfer::ErrorKind;

fn expected() -> Vec<(String, u32)> {
    let mut v = vec![("OK".to_string(), 0)];
    v.extend(ErrorKind::ALL.iter().map(|k| (k.constant_name().to_string(), k.code())));
    v
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

#[test]
fn c_header_matches_rust() {
    let header = read("include/vbt.h");
    let body = &header[header.find("typedef enum vbt_result").or_else(|| header.find("enum vbt_result")).expect("vbt_result enum")..];
    let body = &body[..body.find('}').unwrap()];
    let got: Vec<(String, u32)> = body
        .lines()
        .filter_map(|l| {
            let l = l.trim().trim_end_matches(',');
            let (name, num) = l.split_once(" = ")?;
            Some((name.strip_prefix("VBT_")?.to_string(), num.trim().parse().ok()?))
        })
        .collect();
    assert_eq!(got, expected());
}

#[test]
fn java_code_enum_matches_rust() {
    let java = read("java/src/main/java/org/venicedb/blobtransfer/BlobTransferException.java");
    let body = &java[java.find("enum Code").expect("enum Code")..];
    let body = &body[..body.find(';').unwrap()];
    let got: Vec<(String, u32)> = body
        .split([',', '{'])
        .filter_map(|part| {
            let part = part.trim();
            let (name, rest) = part.split_once('(')?;
            Some((name.trim().to_string(), rest.trim_end_matches(')').trim().parse().ok()?))
        })
        .collect();
    assert_eq!(got, expected());
}
