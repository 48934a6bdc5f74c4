//! The METADATA body: `PartitionMetadata::from_json` on arbitrary bytes, for the partition the
//! seeds are about and for the partition the document itself names (so bodies for other
//! partitions get past the identity check).
//!
//! Properties, whenever a body is accepted:
//! - it belongs to the expected partition and both blobs carry Venice's framing;
//! - it is JSON by any reading, and the same document re-serialised (whitespace, escapes, key
//!   order) is accepted as the same metadata;
//! - `to_json` writes Jackson's key order, parses back to an equal value, and is canonical
//!   (writing the parsed-back value gives the same bytes); `new` accepts the same parts.
//!
//! Whenever it is refused, the error is a protocol error.
//!
//! The same bytes as a snapshot manifest (protocol::manifest), for the snapshot the document
//! names: when accepted, every name is a safe file name listed once, every sum is lower-case hex
//! of the algorithm's length, and the sender's encoding of it parses back to the same manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vbt_fuzz::error::ErrorKind;
use vbt_fuzz::protocol::manifest::Manifest;
use vbt_fuzz::protocol::metadata::{PartitionMetadata, OFFSET_RECORD_MAGIC, STORE_VERSION_STATE_MAGIC};
use vbt_fuzz::protocol::{check_file_name, PartitionId};

/// The partition a JSON document claims to be about, if it names a valid one.
fn claimed(doc: &serde_json::Value) -> Option<PartitionId> {
    let topic = doc.get("topicName")?.as_str()?;
    let (store, version) = topic.rsplit_once("_v")?;
    let partition = i32::try_from(doc.get("partitionId")?.as_i64()?).ok()?;
    PartitionId::new(store, version.parse().ok()?, partition).ok()
}

fn framed(bytes: &[u8], magic: u8) -> bool {
    bytes.len() >= 2 && bytes[0] == magic && bytes[1] <= 127
}

fn check(data: &[u8], doc: Option<&serde_json::Value>, id: &PartitionId) {
    let m = match PartitionMetadata::from_json(data, id) {
        Ok(m) => m,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
            return;
        }
    };
    assert_eq!((m.topic_name.as_str(), m.partition_id), (id.topic().as_str(), id.partition));
    assert!(framed(&m.offset_record, OFFSET_RECORD_MAGIC), "offsetRecord {:?}", m.offset_record);
    assert!(framed(&m.store_version_state, STORE_VERSION_STATE_MAGIC), "storeVersionState {:?}", m.store_version_state);

    let doc = doc.expect("an accepted body is JSON");
    let reserialised = serde_json::to_vec(doc).unwrap();
    assert_eq!(
        PartitionMetadata::from_json(&reserialised, id).as_ref(),
        Ok(&m),
        "same document, re-serialised: {}",
        String::from_utf8_lossy(&reserialised)
    );

    let json = m.to_json();
    assert!(json.starts_with(b"{\"topicName\":"), "{}", String::from_utf8_lossy(&json));
    let back = PartitionMetadata::from_json(&json, id)
        .unwrap_or_else(|e| panic!("to_json output {} does not parse back: {e}", String::from_utf8_lossy(&json)));
    assert_eq!(back, m);
    assert_eq!(back.to_json(), json, "to_json is not canonical");
    assert_eq!(PartitionMetadata::new(id, m.offset_record.clone(), m.store_version_state.clone()).as_ref(), Ok(&m));
}

fn check_manifest(data: &[u8], doc: Option<&serde_json::Value>) {
    let snapshot = doc.and_then(|d| d.get("snapshot")?.as_str().map(str::to_string)).unwrap_or_else(|| "00ff".into());
    let m = match Manifest::parse(data, &snapshot) {
        Ok(m) => m,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
            return;
        }
    };
    let mut names = std::collections::HashSet::new();
    for f in &m.files {
        check_file_name(&f.name).unwrap_or_else(|e| panic!("manifest passed an unsafe name: {e}"));
        assert!(names.insert(f.name.clone()), "{:?} twice", f.name);
        assert_eq!(f.sum.len(), m.algorithm.hex_len());
        assert!(f.sum.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')), "{:?}", f.sum);
    }
    let r = m.response();
    let at = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(Manifest::parse(&r[at..], &m.snapshot).unwrap(), m);
}

fuzz_target!(|data: &[u8]| {
    let doc: Option<serde_json::Value> = serde_json::from_slice(data).ok();
    check_manifest(data, doc.as_ref());
    let seeds_id = PartitionId::new("myStore", 1, 0).unwrap();
    check(data, doc.as_ref(), &seeds_id);
    if let Some(id) = doc.as_ref().and_then(claimed).filter(|id| *id != seeds_id) {
        check(data, doc.as_ref(), &id);
    }
});
