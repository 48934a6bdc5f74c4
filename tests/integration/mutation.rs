//! The parsers facing peers never panic: the Venice vectors, mutated many times over (byte flips,
//! truncations, insertions, splices), go through the request parser, the response decoder and the
//! metadata parser. A deterministic seed keeps failures reproducible. (Not a replacement for
//! coverage-guided fuzzing; a cheap guard that runs with every test.)

use venice_blob_transfer::tools::decoder::{parse_response_head, ResponseHead};
use venice_blob_transfer::tools::request::{parse_request_head, validate, LocalProtocol};
use venice_blob_transfer::PartitionMetadata;
use venice_blob_transfer::TableFormat;

use crate::common::*;

fn mutate(rng: &mut fastrand::Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.usize(1..6) {
        match rng.u8(0..5) {
            0 if !v.is_empty() => {
                let i = rng.usize(..v.len());
                v[i] = rng.u8(..);
            }
            1 if !v.is_empty() => v.truncate(rng.usize(..v.len())),
            2 => {
                let i = rng.usize(..=v.len());
                let b: Vec<u8> = (0..rng.usize(1..8)).map(|_| *rng.choice(b"\r\n:/ \"=0123456789aZ\x00\xff").unwrap()).collect();
                v.splice(i..i, b);
            }
            3 if v.len() > 2 => {
                let (a, b) = (rng.usize(..v.len()), rng.usize(..v.len()));
                let (a, b) = (a.min(b), a.max(b));
                v.drain(a..b);
            }
            _ => {}
        }
    }
    v
}

/// Walks a whole response stream the way the receiver does.
fn walk(mut stream: &[u8]) {
    while let Ok(Some((head, used))) = parse_response_head(stream) {
        let body = match head {
            ResponseHead::File { len, .. } | ResponseHead::Metadata { len } | ResponseHead::Manifest { len, .. } => len,
            ResponseHead::Refused { body_len, .. } => body_len.unwrap_or(0),
            ResponseHead::Complete => 0,
        };
        let skip = (used as u64).saturating_add(body).min(stream.len() as u64) as usize;
        if skip == 0 {
            break;
        }
        stream = &stream[skip..];
    }
}

#[test]
fn mutated_vectors_never_panic_the_parsers() {
    let mut rng = fastrand::Rng::with_seed(0x5eed_ba5e);
    let local = LocalProtocol { table_format: TableFormat::BlockBased, partition_state_version: 24, store_version_state_version: 7 };
    let requests: Vec<Vec<u8>> = ["java-receiver.request.bin", "requests/err-405-post.bin", "requests/ok-unparseable-schema-headers.bin"]
        .iter()
        .map(|n| vector(n))
        .collect();
    let responses: Vec<Vec<u8>> = [
        "java-sender-2files.response.bin",
        "java-to-java-emptyfile.response.bin",
        "java-to-java-small-ckpt.response.bin",
        "case-err-412-schema-mismatch.response.bin",
    ]
    .iter()
    .map(|n| vector(n))
    .collect();
    let metadata = vector_metadata(&my_store()).to_json();
    for _ in 0..100_000 {
        let seed = rng.choice(&requests).unwrap();
        let r = mutate(&mut rng, seed);
        if let Ok(Some((raw, _))) = parse_request_head(&r) {
            let _ = validate(&raw, &local);
            let _ = raw.checksum();
        }
        let seed = rng.choice(&responses).unwrap();
        walk(&mutate(&mut rng, seed));
        let _ = PartitionMetadata::from_json(&mutate(&mut rng, &metadata), &my_store());
    }
}
