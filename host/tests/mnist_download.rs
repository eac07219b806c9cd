//! Downloading `mnist.npz` and finding MNIST, against a small HTTP server on 127.0.0.1 only:
//! a good file lands in the cache, a wrong hash, a missing file or a cut-short response
//! leaves nothing behind, and offline the error says where to put the files.

mod mnist_common;

use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use microdense::mnist::{Download, Lookup, Mnist, MnistError, Origin, KERAS_BASE_URL, KERAS_SHA256};
use mnist_common::{sha256_hex, synthetic, write_idx_dir, Route, Server, TempDir};

/// A small data set and its `.npz` bytes.
fn npz_bytes() -> (Mnist, Vec<u8>) {
    let dir = TempDir::new("npz-bytes");
    let m = synthetic(12, 5);
    let path = dir.join("mnist.npz");
    m.write_npz(&path, true).unwrap();
    (m, fs::read(path).unwrap())
}

fn download(base_url: &str, sha256: &str) -> Download {
    Download {
        base_url: base_url.to_string(),
        sha256: sha256.to_string(),
        timeout: Duration::from_secs(5),
    }
}

/// A lookup whose every place is inside `dir` and empty.
fn empty_lookup(dir: &TempDir) -> Lookup {
    Lookup {
        explicit: None,
        env_dir: None,
        default_dir: dir.join("data/mnist"),
        cache_file: Some(dir.join("cache/datasets/mnist.npz")),
        download: None,
    }
}

#[test]
fn keras_location_is_the_default() {
    let d = Download::keras();
    assert_eq!(
        d.url(),
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    );
    assert_eq!(d.url(), format!("{KERAS_BASE_URL}mnist.npz"));
    assert_eq!(d.sha256, KERAS_SHA256);
    assert_eq!(
        Download::from_base("http://127.0.0.1:9/x").url(),
        "http://127.0.0.1:9/x/mnist.npz"
    );
}

#[test]
fn good_file_is_downloaded_checked_and_loads() {
    let (m, bytes) = npz_bytes();
    let server = Server::start(vec![Route::new("/mirror/mnist.npz", bytes.clone())], 1);
    let dir = TempDir::new("dl-good");
    let dest = dir.join("datasets/mnist.npz");
    download(&format!("{}/mirror/", server.base_url), &sha256_hex(&bytes))
        .fetch(&dest)
        .unwrap();
    assert_eq!(server.finish(), 1);
    assert_eq!(fs::read(&dest).unwrap(), bytes);
    assert_eq!(Mnist::load(&dest).unwrap(), m);
    assert_eq!(
        fs::read_dir(dir.join("datasets")).unwrap().count(),
        1,
        "no temporary file is left"
    );
}

/// Asserts the `datasets` directory under `dir` holds no file.
fn nothing_left(dir: &TempDir) {
    let left: Vec<PathBuf> = match fs::read_dir(dir.join("datasets")) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn wrong_hash_leaves_nothing_behind() {
    let (_, bytes) = npz_bytes();
    let server = Server::start(vec![Route::new("/mnist.npz", bytes.clone())], 1);
    let dir = TempDir::new("dl-hash");
    let dest = dir.join("datasets/mnist.npz");
    let err = download(&server.base_url, KERAS_SHA256).fetch(&dest).unwrap_err();
    server.finish();
    let MnistError::HashMismatch { expected, actual, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (expected.as_str(), actual.clone()),
        (KERAS_SHA256, sha256_hex(&bytes))
    );
    assert!(err.to_string().contains("discarded"), "{err}");
    nothing_left(&dir);
}

#[test]
fn missing_and_cut_short_responses_leave_nothing_behind() {
    let (_, bytes) = npz_bytes();
    let mut short = Route::new("/short/mnist.npz", bytes[..1000].to_vec());
    short.announced_len = bytes.len();
    let server = Server::start(vec![short], 2);
    let dir = TempDir::new("dl-short");
    let dest = dir.join("datasets/mnist.npz");
    let sha = sha256_hex(&bytes);

    let err = download(&format!("{}/absent", server.base_url), &sha)
        .fetch(&dest)
        .unwrap_err();
    assert!(
        matches!(&err, MnistError::Download { source, .. } if source.to_string().contains("404")),
        "{err}"
    );
    assert!(err.to_string().contains("/absent/mnist.npz"), "{err}");

    let err = download(&format!("{}/short", server.base_url), &sha)
        .fetch(&dest)
        .unwrap_err();
    assert!(matches!(&err, MnistError::Download { .. }), "{err}");
    assert_eq!(server.finish(), 2);
    nothing_left(&dir);
}

#[test]
fn lookup_downloads_into_the_cache_once_then_finds_it() {
    let (m, bytes) = npz_bytes();
    let server = Server::start(vec![Route::new("/mnist.npz", bytes.clone())], 1);
    let dir = TempDir::new("dl-lookup");
    let lookup = empty_lookup(&dir).with_download(Some(download(&server.base_url, &sha256_hex(&bytes))));
    let (loaded, source) = lookup.load().unwrap();
    assert_eq!(loaded, m);
    assert_eq!((source.origin, source.downloaded), (Origin::Cache, true));
    assert_eq!(source.path, dir.join("cache/datasets/mnist.npz"));
    // The second time the cache is found without the network (the server answers only once).
    let again = lookup.locate().unwrap();
    assert_eq!((again.origin, again.downloaded), (Origin::Cache, false));
    assert_eq!(server.finish(), 1);
}

#[test]
fn places_are_tried_in_order() {
    let dir = TempDir::new("order");
    let mut lookup = empty_lookup(&dir);
    let default = dir.join("data/mnist");
    fs::create_dir_all(&default).unwrap();
    write_idx_dir(&default, &synthetic(3, 2), true);
    assert_eq!(lookup.find().unwrap().origin, Origin::DefaultDir);

    let env = dir.join("env");
    fs::create_dir_all(&env).unwrap();
    synthetic(2, 2).write_npz(&env.join("mnist.npz"), false).unwrap();
    lookup.env_dir = Some(env.clone());
    let found = lookup.find().unwrap();
    assert_eq!((found.origin, &found.path), (Origin::EnvDir, &env));
    assert_eq!(Mnist::load(&found.path).unwrap(), synthetic(2, 2));

    // An explicit path is the only place looked at, even when it holds nothing.
    lookup.explicit = Some(dir.join("nowhere"));
    let nf = lookup.find().unwrap_err();
    assert_eq!(nf.places.len(), 1);
    assert_eq!(nf.places[0].origin, Origin::Argument);
    assert!(nf.to_string().contains("nowhere"), "{nf}");
    lookup.explicit = Some(env.join("mnist.npz"));
    assert_eq!(lookup.find().unwrap().origin, Origin::Argument);
}

#[test]
fn offline_error_says_where_to_put_the_files() {
    // A port nobody listens on: the connection is refused at once.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("offline");
    let lookup =
        empty_lookup(&dir).with_download(Some(download(&format!("http://127.0.0.1:{port}"), KERAS_SHA256)));
    let err = lookup.locate().unwrap_err();
    let MnistError::NotFound(nf) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        nf.places.iter().map(|p| p.origin).collect::<Vec<_>>(),
        [Origin::EnvDir, Origin::DefaultDir, Origin::Cache]
    );
    assert!(nf.download.is_some());
    let msg = err.to_string();
    for needle in [
        "not set",
        "does not exist",
        "Downloading failed",
        &format!("127.0.0.1:{port}/mnist.npz"),
        "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte",
        &dir.join("data/mnist").display().to_string(),
        &dir.join("cache/datasets/mnist.npz").display().to_string(),
        "mnist.npz",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
    assert!(!dir.join("cache/datasets/mnist.npz").exists());
    // Without permission to download, the same advice and no download attempt.
    let nf = empty_lookup(&dir).locate().unwrap_err();
    assert!(
        matches!(&nf, MnistError::NotFound(n) if n.download.is_none()),
        "{nf}"
    );
    assert!(nf.to_string().contains("Put the four IDX files"), "{nf}");
}
