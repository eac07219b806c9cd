//! Downloading Keras's `mnist.npz`, as `keras.datasets.mnist.load_data()` does: from the
//! same address, with the same SHA-256 checked before the file is moved into place.

use std::env;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use ureq::Agent;

use super::error::MnistError;
use super::NPZ_FILE;
use crate::atomic::write_with;

/// The folder Keras downloads `mnist.npz` from.
pub const KERAS_BASE_URL: &str = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/";
/// The SHA-256 Keras (`keras` 3 and `tf_keras` 2) checks `mnist.npz` against.
pub const KERAS_SHA256: &str = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1";
/// Environment variable overriding the folder `mnist.npz` is downloaded from.
pub const URL_ENV: &str = "MICRODENSE_MNIST_URL";
/// Longest wait for a connection or for the next bytes of the response.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Size of the chunks streamed to disk.
const CHUNK: usize = 1 << 16;

/// Where to download `mnist.npz` from, and the SHA-256 it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The folder holding `mnist.npz` (with or without a trailing `/`).
    pub base_url: String,
    /// The expected SHA-256 of the file, hex.
    pub sha256: String,
    /// Longest wait for a connection, and between bytes of the response.
    pub timeout: Duration,
}

impl Download {
    /// Keras's own location and hash.
    pub fn keras() -> Download {
        Download::from_base(KERAS_BASE_URL)
    }

    /// Keras's hash, from folder `base_url` (e.g. a mirror or a local server).
    pub fn from_base(base_url: &str) -> Download {
        Download {
            base_url: base_url.to_string(),
            sha256: KERAS_SHA256.to_string(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Keras's location, or the folder in `$MICRODENSE_MNIST_URL` when it is set.
    pub fn from_env() -> Download {
        match env::var(URL_ENV) {
            Ok(base) if !base.is_empty() => Download::from_base(&base),
            _ => Download::keras(),
        }
    }

    /// The address of `mnist.npz`.
    pub fn url(&self) -> String {
        format!("{}/{NPZ_FILE}", self.base_url.trim_end_matches('/'))
    }

    /// Downloads the file to `dest` (creating its directory). It is streamed to a temporary
    /// file next to `dest`, which is renamed to `dest` only if its SHA-256 matches; on any
    /// failure nothing is left behind.
    pub fn fetch(&self, dest: &Path) -> Result<(), MnistError> {
        let url = self.url();
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| MnistError::Download {
            url: url.clone(),
            source,
        };
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| MnistError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let response = self.agent().get(&url).call().map_err(|e| failed(e.into()))?;
        let mut body = response.into_body().into_reader();
        write_with(
            dest,
            |file| {
                let mut hasher = Sha256::new();
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = match body.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(failed(e.into())),
                    };
                    hasher.update(&buf[..n]);
                    file.write_all(&buf[..n]).map_err(|source| MnistError::Write {
                        path: dest.to_path_buf(),
                        source,
                    })?;
                }
                let actual: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
                if !actual.eq_ignore_ascii_case(self.sha256.trim()) {
                    return Err(MnistError::HashMismatch {
                        url: url.clone(),
                        expected: self.sha256.clone(),
                        actual,
                    });
                }
                Ok(())
            },
            |source| MnistError::Write {
                path: dest.to_path_buf(),
                source,
            },
        )
    }

    /// An HTTP client with the timeouts set; loopback addresses bypass any proxy.
    fn agent(&self) -> Agent {
        let loopback = [
            "http://127.",
            "https://127.",
            "http://localhost",
            "https://localhost",
            "http://[::1]",
        ]
        .iter()
        .any(|p| self.base_url.starts_with(p));
        let config = Agent::config_builder()
            .timeout_connect(Some(self.timeout))
            .timeout_recv_response(Some(self.timeout))
            .timeout_per_read(Some(self.timeout));
        let config = if loopback { config.proxy(None) } else { config };
        config.build().into()
    }
}
