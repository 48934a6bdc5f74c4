//! The METADATA body: Jackson's serialisation of Venice's `BlobTransferPartitionMetadata`
//! (reference §2.2). Byte arrays are standard base64 with padding; the offset record and the
//! store-version state keep Venice's two-byte framing (magic 24 / 25, then the protocol version).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::PartitionId;
use crate::error::{Error, Result};

pub const OFFSET_RECORD_MAGIC: u8 = 24;
pub const STORE_VERSION_STATE_MAGIC: u8 = 25;

/// What a transfer hands the host with the files: where to resume Kafka and the version state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub topic_name: String,
    pub partition_id: i32,
    /// `OffsetRecord.toBytes()`: magic 24, PARTITION_STATE version, Avro record.
    pub offset_record: Vec<u8>,
    /// Magic 25, STORE_VERSION_STATE version, Avro record.
    pub store_version_state: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(rename = "topicName")]
    topic_name: Option<String>,
    #[serde(rename = "partitionId", default)]
    partition_id: i32,
    #[serde(rename = "offsetRecord")]
    offset_record: Option<String>,
    #[serde(rename = "storeVersionState")]
    store_version_state: Option<String>,
}

impl PartitionMetadata {
    /// Builds metadata for a partition, checking both blobs' framing.
    pub fn new(id: &PartitionId, offset_record: Vec<u8>, store_version_state: Vec<u8>) -> Result<Self> {
        let m = PartitionMetadata { topic_name: id.topic(), partition_id: id.partition, offset_record, store_version_state };
        m.check_framing()?;
        Ok(m)
    }

    /// Jackson's output, key for key: `{"topicName":..,"partitionId":..,"offsetRecord":..,"storeVersionState":..}`.
    pub fn to_json(&self) -> Vec<u8> {
        let wire = Wire {
            topic_name: Some(self.topic_name.clone()),
            partition_id: self.partition_id,
            offset_record: Some(STANDARD.encode(&self.offset_record)),
            store_version_state: Some(STANDARD.encode(&self.store_version_state)),
        };
        serde_json::to_vec(&wire).expect("metadata serialises")
    }

    /// Parses a METADATA body and checks it belongs to `expected` and is framed as Venice frames it.
    pub fn from_json(body: &[u8], expected: &PartitionId) -> Result<Self> {
        // Venice reads the body with Jackson's byte parser (`readValue(byte[])`), which refuses a
        // malformed UTF-8 sequence (a continuation byte where a character starts, a lead byte
        // without its continuation bytes) wherever it stands, also inside the value of an
        // unknown key it skips. serde_json skips ignored strings without looking, so the whole
        // body is checked first. This is stricter than Jackson in one corner: Jackson lets
        // overlong forms, surrogates and code points past U+10FFFF through, but its generator
        // never writes them, so only a broken or hostile sender sends them.
        if let Err(e) = std::str::from_utf8(body) {
            return Err(Error::protocol(format!("metadata is not valid UTF-8 (at byte {})", e.valid_up_to())));
        }
        let wire: Wire = serde_json::from_slice(body).map_err(|e| Error::protocol(format!("metadata is not valid JSON: {e}")))?;
        let topic_name = wire.topic_name.ok_or_else(|| Error::protocol("metadata has no topicName"))?;
        if topic_name != expected.topic() || wire.partition_id != expected.partition {
            return Err(Error::protocol(format!(
                "metadata is for {topic_name} partition {}, expected {} partition {}",
                wire.partition_id,
                expected.topic(),
                expected.partition
            )));
        }
        let blob = |name: &str, v: Option<String>| -> Result<Vec<u8>> {
            let v = v.ok_or_else(|| Error::protocol(format!("metadata has no {name}")))?;
            STANDARD.decode(v.as_bytes()).map_err(|e| Error::protocol(format!("metadata {name} is not padded standard base64: {e}")))
        };
        let m = PartitionMetadata {
            offset_record: blob("offsetRecord", wire.offset_record)?,
            store_version_state: blob("storeVersionState", wire.store_version_state)?,
            topic_name,
            partition_id: wire.partition_id,
        };
        m.check_framing()?;
        Ok(m)
    }

    fn check_framing(&self) -> Result<()> {
        for (name, bytes, magic) in [
            ("offsetRecord", &self.offset_record, OFFSET_RECORD_MAGIC),
            ("storeVersionState", &self.store_version_state, STORE_VERSION_STATE_MAGIC),
        ] {
            match bytes.as_slice() {
                [m, v, ..] if *m == magic && *v <= 127 => {}
                [m, ..] if *m != magic => {
                    return Err(Error::protocol(format!("metadata {name} starts with magic byte {m}, expected {magic}")))
                }
                _ => {
                    return Err(Error::protocol(format!(
                        "metadata {name} is {} bytes: too short for its magic and protocol version",
                        bytes.len()
                    )))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: &str = r#"{"topicName":"myStore_v1","partitionId":0,"offsetRecord":"GBgBAgME","storeVersionState":"GQcFBgcI"}"#;

    #[test]
    fn jackson_byte_for_byte() {
        let id = PartitionId::new("myStore", 1, 0).unwrap();
        let m = PartitionMetadata::new(&id, vec![24, 24, 1, 2, 3, 4], vec![25, 7, 5, 6, 7, 8]).unwrap();
        assert_eq!(String::from_utf8(m.to_json()).unwrap(), VECTOR);
        assert_eq!(PartitionMetadata::from_json(VECTOR.as_bytes(), &id).unwrap(), m);
    }

    #[test]
    fn rejects_bad_metadata() {
        let id = PartitionId::new("myStore", 1, 0).unwrap();
        let cases = [
            VECTOR.replace("GBgBAgME", "GBgBAgME-_"), // URL-safe alphabet
            VECTOR.replace("GQcFBgcI", "GQcFBgc"),    // missing padding
            VECTOR.replace("GBgBAgME", "GRgBAgME"),   // wrong magic (25 for the offset record)
            VECTOR.replace("\"partitionId\":0", "\"partitionId\":3"),
            VECTOR.replace("myStore_v1", "other_v1"),
            VECTOR.replace(",\"storeVersionState\":\"GQcFBgcI\"", ""),
            "{not json".to_string(),
        ];
        for c in cases {
            assert!(PartitionMetadata::from_json(c.as_bytes(), &id).is_err(), "{c}");
        }
        let extra = VECTOR.replace("{", "{\"unknown\":[1,2],");
        PartitionMetadata::from_json(extra.as_bytes(), &id).unwrap();
    }

    /// Jackson refuses malformed UTF-8 anywhere in the body, also in an unknown key's value
    /// that it skips (the fuzz crash of issue #18: 0xc8 followed by an ASCII byte).
    #[test]
    fn rejects_malformed_utf8_anywhere() {
        let id = PartitionId::new("myStore", 1, 0).unwrap();
        let in_unknown = b"{\"topicName\":\"myStore_v1\",\"partitionId\":0,\"offsetRecord\":\"GBgBAgME\",\"other\":\"GBg\xc8AgME\",\"storeVersionState\":\"GQcFBgcI\"}";
        // A lone continuation byte inside a known value.
        let in_topic =
            b"{\"topicName\":\"myStore_v1\x80\",\"partitionId\":0,\"offsetRecord\":\"GBgBAgME\",\"storeVersionState\":\"GQcFBgcI\"}";
        for bad in [&in_unknown[..], &in_topic[..]] {
            let e = PartitionMetadata::from_json(bad, &id).unwrap_err();
            assert!(e.to_string().contains("not valid UTF-8"), "{e}");
        }
        // Well-formed non-ASCII in an unknown value is fine, as it is for Jackson.
        let ok = VECTOR.replace("{", "{\"note\":\"h\u{e9}llo\",");
        PartitionMetadata::from_json(ok.as_bytes(), &id).unwrap();
    }
}
