//! Helpers shared by the MNIST tests: temporary directories, small synthetic data sets, IDX
//! writers and a tiny HTTP server on loopback.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use microdense::mnist::{Mnist, Split};
use sha2::{Digest, Sha256};

/// A fresh directory under Cargo's per-test temporary folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mnist-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Names of the files in the directory, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The real MNIST files, gzipped IDX, found as every test finds them
/// ([`microdense_tests::mnist_dir`]).
pub fn real_dir() -> PathBuf {
    microdense_tests::mnist_dir()
}

/// A small deterministic data set of 28×28 images with labels `i % 10`.
pub fn synthetic(n_train: usize, n_test: usize) -> Mnist {
    let split = |n: usize, salt: usize| Split {
        images: (0..n * 784).map(|i| ((i * 31 + salt * 7) % 256) as u8).collect(),
        labels: (0..n).map(|i| ((i + salt) % 10) as u8).collect(),
        rows: 28,
        cols: 28,
    };
    Mnist {
        train: split(n_train, 0),
        test: split(n_test, 3),
    }
}

/// An IDX images file: magic 0x803, count, rows, cols, then the pixels.
pub fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for word in [0x803, count, rows, cols] {
        out.extend_from_slice(&u32::to_be_bytes(word));
    }
    out.extend_from_slice(pixels);
    out
}

/// An IDX labels file: magic 0x801, count, then the labels.
pub fn idx_labels(count: u32, labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for word in [0x801, count] {
        out.extend_from_slice(&u32::to_be_bytes(word));
    }
    out.extend_from_slice(labels);
    out
}

/// Gzips `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Writes the four IDX files of `mnist` into `dir`, gzipped (with `.gz` names) or not.
pub fn write_idx_dir(dir: &Path, mnist: &Mnist, gz: bool) {
    for (prefix, split) in [("train", &mnist.train), ("t10k", &mnist.test)] {
        let n = split.len() as u32;
        let files = [
            (
                format!("{prefix}-images-idx3-ubyte"),
                idx_images(n, 28, 28, &split.images),
            ),
            (
                format!("{prefix}-labels-idx1-ubyte"),
                idx_labels(n, &split.labels),
            ),
        ];
        for (name, bytes) in files {
            if gz {
                fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
            } else {
                fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// What the test server answers for one path.
#[derive(Clone)]
pub struct Route {
    pub path: String,
    pub body: Vec<u8>,
    /// Content-Length announced; more than `body.len()` makes a cut-short response.
    pub announced_len: usize,
}

impl Route {
    pub fn new(path: &str, body: Vec<u8>) -> Route {
        Route {
            path: path.to_string(),
            announced_len: body.len(),
            body,
        }
    }
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 that answers at most `max_requests`
/// connections (404 for unknown paths) and stops by itself within `LIFETIME`.
pub struct Server {
    pub base_url: String,
    handle: Option<JoinHandle<usize>>,
}

const LIFETIME: Duration = Duration::from_secs(30);

impl Server {
    pub fn start(routes: Vec<Route>, max_requests: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let handle = thread::spawn(move || {
            let deadline = Instant::now() + LIFETIME;
            let mut served = 0;
            while served < max_requests && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        answer(stream, &routes);
                        served += 1;
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
            served
        });
        Server {
            base_url,
            handle: Some(handle),
        }
    }

    /// Waits for the server to stop (after `max_requests` connections or its lifetime) and
    /// returns how many connections it answered.
    pub fn finish(mut self) -> usize {
        self.handle.take().unwrap().join().unwrap()
    }
}

/// Reads one request's head and answers it.
fn answer(mut stream: TcpStream, routes: &[Route]) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16384 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("");
    let response = match routes.iter().find(|r| r.path == path) {
        Some(r) => {
            let mut out = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                r.announced_len
            )
            .into_bytes();
            out.extend_from_slice(&r.body);
            out
        }
        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found".to_vec(),
    };
    let _ = stream.write_all(&response);
    let _ = stream.flush();
}
