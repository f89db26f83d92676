use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

#[test]
fn locations_parse_display_and_join() {
    let at = Location::parse("s3://bucket/data/step03/").unwrap();
    assert_eq!(
        at,
        Location::Object {
            bucket: "bucket".into(),
            key: "data/step03".into()
        }
    );
    assert_eq!(at.to_string(), "s3://bucket/data/step03");
    assert_eq!(
        at.join("summary/a.jsonl").to_string(),
        "s3://bucket/data/step03/summary/a.jsonl"
    );
    let root = Location::parse("s3://bucket").unwrap();
    assert_eq!(root.to_string(), "s3://bucket");
    assert_eq!(root.join("x").to_string(), "s3://bucket/x");
    // The path form survives the trip through a PathBuf and its join.
    let path = at.to_path_buf().join("b.jsonl");
    assert_eq!(
        Location::from_path(&path).unwrap().to_string(),
        "s3://bucket/data/step03/b.jsonl"
    );
    assert_eq!(
        Location::parse("out/x.jsonl").unwrap(),
        Location::Local("out/x.jsonl".into())
    );
    for bad in ["s3://", "s3:///key", "gs://bucket/x", "https://host/x"] {
        let err = Location::parse(bad).unwrap_err().to_string();
        assert!(err.contains("unsupported storage URL"), "{bad}: {err}");
    }
}

/// Run the same checks on a local folder and on an in-memory bucket.
async fn check_round_trip(root: Location) {
    let file = root.join("d/b.jsonl");
    let mut writer = AtomicWriter::create(&file).unwrap();
    writer.write_all(b"0123456789\n").await.unwrap();
    writer.shutdown().await.unwrap();
    writer.finish().await.unwrap();
    assert!(!exists(&file).await.unwrap(), "visible before commit");
    writer.commit().await.unwrap();
    assert!(exists(&file).await.unwrap());
    write_small_atomic(&root.join("d/a.json"), b"{}")
        .await
        .unwrap();
    write_small_atomic(&root.join("top.json"), b"[1]")
        .await
        .unwrap();

    let listed = list(&root.join("d")).await.unwrap();
    let names: Vec<_> = listed
        .iter()
        .map(|e| (e.location.to_string(), e.size))
        .collect();
    assert_eq!(
        names,
        [
            (root.join("d/a.json").to_string(), 2),
            (file.to_string(), 11)
        ]
    );
    assert_eq!(size(&file).await.unwrap(), 11);
    assert_eq!(read_all(&root.join("top.json")).await.unwrap(), b"[1]");

    let mut part = String::new();
    let mut reader = open_range(&file, Some(3..7)).await.unwrap();
    reader.read_to_string(&mut part).await.unwrap();
    assert_eq!(part, "3456");
    let mut none = Vec::new();
    open_range(&file, Some(5..5))
        .await
        .unwrap()
        .read_to_end(&mut none)
        .await
        .unwrap();
    assert!(none.is_empty());

    assert!(folder_exists(&root.join("d")).await.unwrap());
    assert!(!folder_exists(&root.join("nothing")).await.unwrap());
    assert!(list(&root.join("nothing")).await.unwrap().is_empty());
    assert!(size(&root.join("nope")).await.unwrap_err().is_not_found());

    // Dropped before commit: nothing under the name, nothing left over.
    let dropped = root.join("d/c.jsonl");
    let mut writer = AtomicWriter::create(&dropped).unwrap();
    writer.write_all(&vec![b'x'; 1 << 20]).await.unwrap();
    drop(writer);
    assert!(!exists(&dropped).await.unwrap());
    assert_eq!(list(&root.join("d")).await.unwrap().len(), 2);

    delete(&file).await.unwrap();
    delete(&file).await.unwrap();
    assert!(!exists(&file).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_round_trip() {
    register_bucket("unit-mem", Arc::new(object_store::memory::InMemory::new()));
    check_round_trip(Location::parse("s3://unit-mem/prefix").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    check_round_trip(Location::Local(dir.path().join("root"))).await;
    // No temp file is left beside the outputs.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("root/d"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["a.json"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_object_commits_as_empty() {
    register_bucket(
        "unit-empty",
        Arc::new(object_store::memory::InMemory::new()),
    );
    let at = Location::parse("s3://unit-empty/e.jsonl").unwrap();
    let mut writer = AtomicWriter::create(&at).unwrap();
    writer.shutdown().await.unwrap();
    writer.commit().await.unwrap();
    assert_eq!(size(&at).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_object_goes_up_in_parts() {
    register_bucket("unit-big", Arc::new(object_store::memory::InMemory::new()));
    let at = Location::parse("s3://unit-big/big.bin").unwrap();
    let mut writer = AtomicWriter::create(&at).unwrap();
    let block: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    for _ in 0..40 {
        writer.write_all(&block).await.unwrap();
    }
    writer.shutdown().await.unwrap();
    writer.commit().await.unwrap();
    assert_eq!(size(&at).await.unwrap(), 40 << 20);
    let tail = read_range(&at, (40 << 20) - 3..40 << 20).await;
    assert_eq!(tail, [253, 254, 255]);
}

async fn read_range(at: &Location, range: std::ops::Range<u64>) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut reader = open_range(at, Some(range)).await.unwrap();
    reader.read_to_end(&mut bytes).await.unwrap();
    bytes
}
