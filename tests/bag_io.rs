//! Bags from and to files, through the public API only: read_text and read_json over paths,
//! globs and lists, gzip, block splitting, bad input (each error names the file, and the line or
//! byte), skipped-line counts, to_text round trips, from_paths and iter_partitions, on both
//! executors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use drask::bag::{BadLines, EncodingErrors, ReadError, ReadJson, ReadText, Source, ToText};
use drask::prelude::*;
use drask::sched::{Synchronous, Threaded};
use serde_json::{Value, json};

/// A directory under the system temp dir, unique to this process and call, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("drask-bag-io-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn write_gz(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
        enc.write_all(content).unwrap();
        enc.finish().unwrap();
        path
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn executors() -> Vec<(&'static str, ComputeOptions)> {
    vec![
        ("synchronous", ComputeOptions::new().executor(Synchronous)),
        ("threaded", ComputeOptions::new().executor(Threaded::new())),
        (
            "threaded-3",
            ComputeOptions::new().executor(Threaded::with_threads(3).unwrap()),
        ),
    ]
}

/// What `str::lines` gives: the reference for every reader.
fn expected_lines(content: &str) -> Vec<String> {
    content.lines().map(str::to_string).collect()
}

/// The [`ReadError`] behind a compute error.
fn read_error(err: &drask::Error) -> &ReadError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(read) = e.downcast_ref::<ReadError>() {
            return read;
        }
        cause = e.source();
    }
    panic!("no ReadError behind {err}");
}

const CASES: &[(&str, &str)] = &[
    ("trailing-newline", "alpha\nbeta\ngamma\n"),
    ("no-trailing-newline", "alpha\nbeta\ngamma"),
    ("crlf", "one\r\ntwo\r\n\r\nthree\r\n"),
    ("empty-lines", "\n\na\n\n\nb\n\n"),
    (
        "long-line",
        "x\nthis line is much longer than any block size used here\ny\nz",
    ),
    ("empty", ""),
    ("only-newline", "\n"),
    ("unicode", "héllo wörld\n日本語のテキスト\nend"),
];

#[test]
fn plain_and_gz_read_identically() {
    let dir = TempDir::new("gz");
    for (name, content) in CASES {
        let plain = dir.write(&format!("{name}.txt"), content.as_bytes());
        let gz = dir.write_gz(&format!("{name}.txt.gz"), content.as_bytes());
        let a = Bag::read_text(&plain).unwrap().compute().unwrap();
        let b = Bag::read_text(&gz).unwrap().compute().unwrap();
        assert_eq!(a, expected_lines(content), "{name}");
        assert_eq!(a, b, "{name}");
    }
    // Mixed in one glob, in alphabetical order.
    let all = Bag::read_text(dir.join("crlf.txt*")).unwrap();
    assert_eq!(all.npartitions(), 2);
    assert_eq!(
        all.compute().unwrap(),
        ["one", "two", "", "three", "one", "two", "", "three"]
    );
}

#[test]
fn concatenated_gzip_members_are_one_stream() {
    let dir = TempDir::new("multigz");
    let path = dir.join("multi.txt.gz");
    let mut file = std::fs::File::create(&path).unwrap();
    for part in ["a\nb\n", "c\n"] {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(part.as_bytes()).unwrap();
        file.write_all(&enc.finish().unwrap()).unwrap();
    }
    drop(file);
    assert_eq!(Bag::read_text(&path).unwrap().compute().unwrap(), ["a", "b", "c"]);
}

#[test]
fn a_list_of_paths_and_a_glob_read_the_same() {
    let dir = TempDir::new("list");
    let paths: Vec<PathBuf> = (0..5)
        .map(|i| dir.write(&format!("f{i}.txt"), format!("{i}a\n{i}b\n").as_bytes()))
        .collect();
    dir.write("other.md", b"not me\n");
    let from_glob = Bag::read_text(dir.join("f*.txt")).unwrap();
    let from_list = Bag::read_text(paths.clone()).unwrap();
    let strings: Vec<String> = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let from_strings = Bag::read_text(strings).unwrap();
    assert_eq!(from_glob.npartitions(), 5);
    assert_eq!(from_glob.compute().unwrap(), from_list.compute().unwrap());
    assert_eq!(from_glob.compute().unwrap(), from_strings.compute().unwrap());
    // A list can mix paths and patterns, in the order given.
    let mixed = Bag::read_text(vec![dir.join("other.md"), dir.join("f[34].txt")]).unwrap();
    assert_eq!(mixed.compute().unwrap(), ["not me", "3a", "3b", "4a", "4b"]);
    assert_eq!(
        Source::from(dir.join("f*.txt")).paths().unwrap(),
        paths,
        "glob matches come sorted"
    );
}

#[test]
fn blocks_give_the_same_lines_as_one_partition() {
    let dir = TempDir::new("blocks");
    for (name, content) in CASES {
        let path = dir.write(&format!("{name}.txt"), content.as_bytes());
        let whole = Bag::read_text(&path).unwrap().compute().unwrap();
        assert_eq!(whole, expected_lines(content), "{name}");
        for blocksize in [1, 2, 3, 5, 7, 16, 1000] {
            let bag = ReadText::new(&path).blocksize(Some(blocksize)).build().unwrap();
            let expected_parts = (content.len() as u64).div_ceil(blocksize).max(1) as usize;
            assert_eq!(bag.npartitions(), expected_parts, "{name}, blocksize {blocksize}");
            for (executor, options) in executors() {
                assert_eq!(
                    bag.compute_with(&options).unwrap(),
                    whole,
                    "{name}, blocksize {blocksize}, {executor}"
                );
            }
        }
    }
}

#[test]
fn gz_files_are_never_split() {
    let dir = TempDir::new("gzsplit");
    let content = "a line\n".repeat(100);
    dir.write_gz("a.txt.gz", content.as_bytes());
    dir.write("b.txt", content.as_bytes());
    let bag = ReadText::new(dir.join("*")).blocksize(Some(64)).build().unwrap();
    assert_eq!(bag.npartitions(), 1 + content.len().div_ceil(64));
    assert_eq!(bag.count().compute().unwrap(), 200);
}

#[test]
fn a_missing_file_or_an_empty_glob_fails_when_built() {
    let dir = TempDir::new("missing");
    dir.write("here.txt", b"x\n");
    let missing = dir.join("not-there.txt");
    let err = Bag::read_text(vec![dir.join("here.txt"), missing.clone()]).unwrap_err();
    assert!(matches!(err, drask::Error::Io(_)), "{err:?}");
    assert!(err.to_string().contains(&*missing.to_string_lossy()), "{err}");

    let pattern = dir.join("*.jsonl");
    let err = Bag::read_json(&pattern).unwrap_err();
    assert!(matches!(err, drask::Error::Metadata(_)), "{err:?}");
    assert!(err.to_string().contains(&*pattern.to_string_lossy()), "{err}");
    assert!(err.to_string().contains("matches no files"), "{err}");

    let err = Bag::from_paths(dir.join("nothing-*")).unwrap_err();
    assert!(err.to_string().contains("matches no files"), "{err}");
    let err = Bag::read_text(Vec::<String>::new()).unwrap_err();
    assert!(matches!(err, drask::Error::Metadata(_)), "{err:?}");
    let err = Bag::read_text(&dir.0).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
    let err = ReadText::new(dir.join("here.txt"))
        .blocksize(Some(0))
        .build()
        .unwrap_err();
    assert!(matches!(err, drask::Error::Metadata(_)), "{err:?}");
}

#[test]
fn a_file_deleted_after_building_fails_the_compute_naming_it() {
    let dir = TempDir::new("deleted");
    let path = dir.write("gone.txt", b"x\n");
    let bag = Bag::read_text(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = bag.compute().unwrap_err();
    assert!(err.key().is_some(), "{err:?}");
    assert_eq!(read_error(&err).path(), path);
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
}

#[test]
fn a_malformed_json_line_names_the_file_and_line() {
    let dir = TempDir::new("badjson");
    let good = dir.write("a.jsonl", b"{\"x\": 1}\n{\"x\": 2}\n");
    let mut content = String::new();
    for i in 0..50 {
        content.push_str(&format!("{{\"x\": {i}}}\n"));
    }
    content.push_str("{\"x\": oops}\n");
    content.push_str("{\"x\": 99}\n");
    let bad = dir.write("b.jsonl", content.as_bytes());
    let bad_offset = content.find("{\"x\": oops}").unwrap() as u64;

    let bag = Bag::read_json(vec![good.clone(), bad.clone()]).unwrap();
    for (executor, options) in executors() {
        let err = bag.compute_with(&options).unwrap_err();
        let cause = read_error(&err);
        assert_eq!((cause.path(), cause.line()), (bad.as_path(), Some(51)), "{executor}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("{}, line 51: invalid JSON", bad.display())),
            "{executor}: {text}"
        );
        assert_eq!(cause.byte_offset(), Some(bad_offset + 6), "{executor}: {text}");
    }

    // In a block that does not start the file, the line number still counts from the file's start.
    for blocksize in [10, 64, 200] {
        let bag = ReadJson::new(&bad).blocksize(Some(blocksize)).build().unwrap();
        assert!(bag.npartitions() > 1);
        let err = bag.compute().unwrap_err();
        let cause = read_error(&err);
        assert_eq!(cause.line(), Some(51), "blocksize {blocksize}: {err}");
        assert!(err.to_string().contains(", line 51: "), "{err}");
    }

    // A gz file: the same line, the offset in the decompressed data.
    let gz = dir.write_gz("c.jsonl.gz", content.as_bytes());
    let err = Bag::read_json(&gz).unwrap().compute().unwrap_err();
    assert_eq!(read_error(&err).line(), Some(51));
    assert!(err.to_string().contains("of the decompressed data"), "{err}");
}

#[test]
fn skipping_bad_lines_counts_them_exactly() {
    let dir = TempDir::new("skip");
    let a = dir.write(
        "a.jsonl",
        b"{\"k\": \"x\"}\nnot json\n\n   \n{\"k\": \"y\"}\n{\"k\": \n[1, 2]\n{\"k\": \"z\"} trailing\n",
    );
    let b = dir.write("b.jsonl", b"{\"k\": \"w\"}\n\xff\xfe\n{\"k\": \"v\"}");
    let source = vec![a, b];

    for blocksize in [None, Some(8)] {
        let (bag, skipped) = ReadJson::new(source.clone())
            .blocksize(blocksize)
            .on_bad_lines(BadLines::Skip)
            .build_with_report()
            .unwrap();
        for (executor, options) in executors() {
            let (records, skipped) = (bag.clone(), skipped.clone()).compute_with(&options).unwrap();
            assert_eq!(
                records,
                [
                    json!({"k": "x"}),
                    json!({"k": "y"}),
                    json!([1, 2]),
                    json!({"k": "w"}),
                    json!({"k": "v"})
                ],
                "{blocksize:?}, {executor}"
            );
            // "not json", `{"k": `, `{"k": "z"} trailing` and the non-UTF-8 line; blank lines are not records.
            assert_eq!(skipped, 4, "{blocksize:?}, {executor}");
        }
        // Each on its own, too.
        assert_eq!(skipped.compute().unwrap(), 4);
        assert_eq!(bag.count().compute().unwrap(), 5);
    }

    // With a field, a record that is not an object is a bad line too.
    let (names, skipped) = ReadJson::new(source.clone())
        .field("k")
        .on_bad_lines(BadLines::Skip)
        .build_with_report()
        .unwrap();
    assert_eq!(
        drask::compute((names, skipped)).unwrap(),
        (vec![json!("x"), json!("y"), json!("w"), json!("v")], 5)
    );

    // Skipping without asking for the count is refused: nothing is dropped silently.
    let err = ReadJson::new(source.clone())
        .on_bad_lines(BadLines::Skip)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("build_with_report"), "{err}");
    // Failing mode reports 0 and fails on the first bad line.
    let (bag, skipped) = ReadJson::new(source).build_with_report().unwrap();
    assert_eq!(skipped.compute().unwrap(), 0);
    assert!(bag.compute().is_err());
}

#[test]
fn skipped_counts_and_records_read_each_file_once() {
    let dir = TempDir::new("once");
    dir.write("a.jsonl", b"1\nx\n2\n");
    dir.write("b.jsonl", b"3\n");
    let (bag, skipped) = ReadJson::new(dir.join("*.jsonl"))
        .on_bad_lines(BadLines::Skip)
        .build_with_report()
        .unwrap();
    let graph = (bag, skipped).graph(true).unwrap();
    let reads = graph
        .ids()
        .filter(|&id| graph.task(id).op.name().contains("read_json"))
        .count();
    assert_eq!(reads, 2, "{graph}");
}

#[test]
fn a_field_is_what_indexing_the_full_record_gives() {
    let dir = TempDir::new("field");
    let content = "{\"name\": \"ann\", \"n\": {\"deep\": [1, {\"x\": null}]}, \"t\": \"a\\\"b\"}\n\
                   {\"n\": 2}\n\
                   {\"na\\u006de\": \"escaped key\", \"name2\": 3}\n\
                   {\"name\": {\"first\": \"bo\"}, \"name\": 7}\n";
    let path = dir.write("f.jsonl", content.as_bytes());
    let full: Vec<Value> = Bag::read_json(&path)
        .unwrap()
        .map(|v| v["name"].clone())
        .compute()
        .unwrap();
    let fast = ReadJson::new(&path).field("name").build().unwrap().compute().unwrap();
    assert_eq!(fast, full);
    assert_eq!(fast, [json!("ann"), Value::Null, json!("escaped key"), json!(7)]);
}

#[test]
fn non_utf8_fails_with_the_byte_offset_unless_lossy() {
    let dir = TempDir::new("utf8");
    let content = b"fine\nstill fine\nbad \xff here\nafter\n";
    let path = dir.write("latin.txt", content);
    let err = Bag::read_text(&path).unwrap().compute().unwrap_err();
    let cause = read_error(&err);
    assert_eq!((cause.line(), cause.byte_offset()), (Some(3), Some(20)));
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    assert!(err.to_string().contains("invalid UTF-8 at byte offset 20"), "{err}");

    // The same from a block that starts after the bad line's file offset 0.
    let err = ReadText::new(&path)
        .blocksize(Some(8))
        .build()
        .unwrap()
        .compute()
        .unwrap_err();
    assert_eq!(read_error(&err).line(), Some(3));
    assert_eq!(read_error(&err).byte_offset(), Some(20));

    let lossy = ReadText::new(&path)
        .encoding_errors(EncodingErrors::Lossy)
        .build()
        .unwrap()
        .compute()
        .unwrap();
    assert_eq!(lossy, ["fine", "still fine", "bad \u{FFFD} here", "after"]);

    // JSON lines: strict names the byte; lossy parses the replaced text.
    let json_path = dir.write("bad.jsonl", b"\"ok\"\n\"caf\xe9\"\n");
    let err = Bag::read_json(&json_path).unwrap().compute().unwrap_err();
    assert_eq!(
        (read_error(&err).line(), read_error(&err).byte_offset()),
        (Some(2), Some(9))
    );
    let lossy = ReadJson::new(&json_path)
        .encoding_errors(EncodingErrors::Lossy)
        .build()
        .unwrap()
        .compute()
        .unwrap();
    assert_eq!(lossy, [json!("ok"), json!("caf\u{FFFD}")]);
}

fn read_back(files: &[PathBuf]) -> Vec<String> {
    Bag::read_text(files.to_vec()).unwrap().compute().unwrap()
}

#[test]
fn to_text_round_trips_plain_and_gz() {
    let dir = TempDir::new("totext");
    let input = dir.write(
        "in.txt",
        "first line\nsecond\n\nünïcode\nlast line without newline".as_bytes(),
    );
    let lines = ReadText::new(&input).blocksize(Some(12)).build().unwrap();
    let original = lines.compute().unwrap();
    assert!(lines.npartitions() > 2);

    let plain = lines.to_text(dir.join("plain"), ToText::new()).compute().unwrap();
    assert_eq!(plain.len(), lines.npartitions());
    assert_eq!(plain[0], dir.join("plain/part-00000.txt"));
    assert_eq!(read_back(&plain), original);

    let gz = lines
        .to_text(dir.join("gz"), ToText::new().gzip(true))
        .compute()
        .unwrap();
    assert_eq!(gz[1], dir.join("gz/part-00001.txt.gz"));
    assert_eq!(read_back(&gz), original);
    assert_eq!(
        Bag::read_text(dir.join("gz/*.gz")).unwrap().compute().unwrap(),
        original
    );

    let named = lines
        .to_text(dir.join("named/x-*.txt.gz"), ToText::new())
        .compute()
        .unwrap();
    assert_eq!(named[2], dir.join("named/x-00002.txt.gz"));
    assert_eq!(read_back(&named), original);

    // JSON values write as JSON lines.
    let records = Bag::from_vec(vec![json!({"a": 1}), json!([true, null])], 1);
    let files = records.to_text(dir.join("json"), ToText::new()).compute().unwrap();
    assert_eq!(
        Bag::read_json(files).unwrap().compute().unwrap(),
        records.compute().unwrap()
    );
}

#[test]
fn to_text_errors_name_the_file() {
    let dir = TempDir::new("writeerr");
    let blocker = dir.write("not-a-dir", b"");
    let err = Bag::from_vec(vec![1, 2], 1)
        .to_text(blocker.join("sub"), ToText::new())
        .compute()
        .unwrap_err();
    assert!(err.to_string().contains("cannot write"), "{err}");
    assert!(err.to_string().contains("part-00000.txt"), "{err}");
}

#[test]
fn executors_agree_on_reads() {
    let dir = TempDir::new("executors");
    for i in 0..6 {
        let mut content = String::new();
        for j in 0..200 {
            content.push_str(&format!(
                "{{\"file\": {i}, \"row\": {j}, \"word\": \"w{}\"}}\n",
                (i * j) % 13
            ));
        }
        if i % 2 == 0 {
            dir.write_gz(&format!("{i}.jsonl.gz"), content.as_bytes());
        } else {
            dir.write(&format!("{i}.jsonl"), content.as_bytes());
        }
    }
    let words = ReadJson::new(dir.join("*.jsonl*"))
        .blocksize(Some(1000))
        .build()
        .unwrap()
        .map(|v| v["word"].as_str().unwrap_or_default().to_string());
    let results: Vec<Vec<String>> = executors()
        .iter()
        .map(|(_, options)| words.compute_with(options).unwrap())
        .collect();
    assert_eq!(results[0].len(), 1200);
    assert!(results.iter().all(|r| *r == results[0]));
}

#[test]
fn from_paths_gives_one_file_per_partition() {
    let dir = TempDir::new("paths");
    for (name, text) in [("b.txt", "bb"), ("a.txt", "a"), ("c.txt", "ccc")] {
        dir.write(name, text.as_bytes());
    }
    let paths = Bag::from_paths(dir.join("*.txt")).unwrap();
    assert_eq!(paths.npartitions(), 3);
    let sizes = paths.map(|p: PathBuf| std::fs::read_to_string(p).unwrap().len());
    assert_eq!(sizes.compute().unwrap(), [1, 2, 3]);
    let names: Vec<String> = paths
        .map(|p: PathBuf| p.file_name().unwrap().to_string_lossy().into_owned())
        .compute()
        .unwrap();
    assert_eq!(names, ["a.txt", "b.txt", "c.txt"]);
}

#[test]
fn iter_partitions_streams_in_order_and_stops_at_the_first_error() {
    let dir = TempDir::new("iter");
    for i in 0..5 {
        dir.write(&format!("{i}.txt"), format!("{i}\n{i}{i}\n").as_bytes());
    }
    let bag = Bag::read_text(dir.join("*.txt")).unwrap();
    for (executor, options) in executors() {
        for batch in [1, 2, 10] {
            let parts: Vec<Vec<String>> = bag
                .iter_partitions(&options)
                .batch_size(batch)
                .collect::<drask::Result<_>>()
                .unwrap();
            assert_eq!(parts.len(), 5, "{executor}");
            assert_eq!(parts.concat(), bag.compute().unwrap(), "{executor}, batch {batch}");
        }
    }
    std::fs::remove_file(dir.join("3.txt")).unwrap();
    let results: Vec<_> = bag.iter_partitions(&ComputeOptions::new()).batch_size(1).collect();
    assert_eq!(results.len(), 4);
    assert!(results[..3].iter().all(Result::is_ok));
    assert!(results[3].as_ref().unwrap_err().to_string().contains("3.txt"));
}

#[test]
fn a_file_named_like_a_pattern_is_read_as_a_path() {
    let dir = TempDir::new("literal");
    let odd: &Path = &dir.write("data[1].txt", b"literal\n");
    assert_eq!(Bag::read_text(odd).unwrap().compute().unwrap(), ["literal"]);
}

#[test]
fn a_read_fuses_with_what_follows_and_skipping_reads_once() {
    let dir = TempDir::new("explain");
    dir.write("a.jsonl", b"{\"a\": 1}\n");
    dir.write("b.jsonl", b"{\"a\": 2}\n");
    let values = Bag::read_json(dir.join("*.jsonl"))
        .unwrap()
        .map(|v| v["a"].as_i64().unwrap_or(0));
    let text = values.explain();
    assert!(
        text.contains("optimized (cull 4 -> 4, inline 4 -> 4, fuse 4 -> 2): 2 tasks"),
        "{text}"
    );
    assert_eq!(text.matches("= read_json+map()").count(), 2, "{text}");

    // Skipping: each file is read by one task, whose records and skip count are split by two
    // projections; the records feed the map in the same task.
    let (bag, skipped) = ReadJson::new(dir.join("*.jsonl"))
        .on_bad_lines(BadLines::Skip)
        .build_with_report()
        .unwrap();
    let both = (bag.map(|v| v["a"].as_i64().unwrap_or(0)), skipped);
    let text = both.explain();
    let optimized = &text[text.find("optimized").unwrap()..];
    assert_eq!(optimized.matches("= read_json()").count(), 2, "{text}");
    assert_eq!(optimized.matches("= records+map((").count(), 2, "{text}");
    assert_eq!(both.compute().unwrap(), (vec![1, 2], 0));
}

#[test]
fn a_corrupt_gz_file_fails_naming_it() {
    let dir = TempDir::new("corruptgz");
    let path = dir.write("broken.txt.gz", b"this is not gzip data\n");
    let err = Bag::read_text(&path).unwrap().compute().unwrap_err();
    assert_eq!(read_error(&err).path(), path);
    assert!(
        err.to_string()
            .contains("cannot read at byte offset 0 of the decompressed data"),
        "{err}"
    );

    // Truncated: the lines before the cut are not returned as if the file had ended there.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all("a line of text\n".repeat(1000).as_bytes()).unwrap();
    let bytes = enc.finish().unwrap();
    let cut = dir.write("cut.txt.gz", &bytes[..bytes.len() / 2]);
    let err = Bag::read_text(&cut).unwrap().compute().unwrap_err();
    assert_eq!(read_error(&err).path(), cut, "{err}");
}

#[test]
fn a_field_read_fails_on_malformed_json_after_the_field_naming_the_line() {
    let dir = TempDir::new("field-bad");
    let content = "{\"name\": \"a\", \"n\": 1}\n{\"name\": \"b\", \"n\": 01}\n{\"name\": \"c\"}\n";
    let path = dir.write("f.jsonl", content.as_bytes());
    let err = ReadJson::new(&path)
        .field("name")
        .build()
        .unwrap()
        .compute()
        .unwrap_err();
    let cause = read_error(&err);
    assert_eq!(cause.line(), Some(2), "{err}");
    assert!(err.to_string().contains("invalid JSON"), "{err}");
    let (names, skipped) = ReadJson::new(&path)
        .field("name")
        .on_bad_lines(BadLines::Skip)
        .build_with_report()
        .unwrap();
    assert_eq!(
        drask::compute((names, skipped)).unwrap(),
        (vec![json!("a"), json!("c")], 1)
    );
}
