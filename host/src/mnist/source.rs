//! Finding MNIST: `--data`, then `$MNIST_DIR`, then `data/mnist`, then the download cache,
//! and, when allowed, downloading Keras's `mnist.npz` into that cache.

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};

use super::download::Download;
use super::error::{MnistError, NotFound, Origin, Place};
use super::idx;
use super::{Mnist, DIR_ENV, NPZ_FILE};

/// Directory looked at last, relative to the working directory.
pub const DEFAULT_DIR: &str = "data/mnist";
/// Environment variable overriding the cache directory (default `~/.cache/microdense`).
pub const CACHE_ENV: &str = "MICRODENSE_CACHE";

/// Where the data set was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    /// A directory with the IDX files (or an `mnist.npz`), or an `.npz` file.
    pub path: PathBuf,
    /// How it was found.
    pub origin: Origin,
    /// Whether it was downloaded just now.
    pub downloaded: bool,
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.path.display(), self.origin)?;
        if self.downloaded {
            write!(f, ", just downloaded")?;
        }
        write!(f, ")")
    }
}

/// `${MICRODENSE_CACHE:-~/.cache/microdense}/datasets/mnist.npz`, like Keras's
/// `~/.keras/datasets/mnist.npz`; `None` when neither the variable nor a home directory is set.
pub fn cache_file() -> Option<PathBuf> {
    let root = match env_path(CACHE_ENV) {
        Some(dir) => dir,
        None => env_path("HOME")
            .or_else(|| env_path("USERPROFILE"))?
            .join(".cache")
            .join("microdense"),
    };
    Some(root.join("datasets").join(NPZ_FILE))
}

/// The non-empty value of environment variable `name` as a path.
fn env_path(name: &str) -> Option<PathBuf> {
    env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Where to look for MNIST, and whether (and from where) to download it.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The path given explicitly (`--data`): when set, it is the only place looked at.
    pub explicit: Option<PathBuf>,
    /// `$MNIST_DIR`.
    pub env_dir: Option<PathBuf>,
    /// `data/mnist`.
    pub default_dir: PathBuf,
    /// The download cache's `mnist.npz`.
    pub cache_file: Option<PathBuf>,
    /// Where to download from when nothing is found; `None` forbids downloading.
    pub download: Option<Download>,
}

impl Lookup {
    /// The places from the environment: `explicit`, `$MNIST_DIR`, `data/mnist` and
    /// [`cache_file`]; downloading is off (see [`Lookup::with_download`]).
    pub fn from_env(explicit: Option<&Path>) -> Lookup {
        Lookup {
            explicit: explicit.map(Path::to_path_buf),
            env_dir: env_path(DIR_ENV),
            default_dir: PathBuf::from(DEFAULT_DIR),
            cache_file: cache_file(),
            download: None,
        }
    }

    /// The same lookup, downloading from `download` when nothing is found.
    pub fn with_download(self, download: Option<Download>) -> Lookup {
        Lookup { download, ..self }
    }

    /// The first place holding the data set, without downloading. An explicit path is the
    /// only place looked at; otherwise `$MNIST_DIR`, `data/mnist`, then the cache.
    pub fn find(&self) -> Result<DataSource, NotFound> {
        let candidates = match &self.explicit {
            Some(p) => vec![(Origin::Argument, Some(p.clone()))],
            None => vec![
                (Origin::EnvDir, self.env_dir.clone()),
                (Origin::DefaultDir, Some(self.default_dir.clone())),
                (Origin::Cache, self.cache_file.clone()),
            ],
        };
        let mut places = Vec::new();
        for (origin, path) in candidates {
            let Some(path) = path else {
                let finding = if origin == Origin::EnvDir {
                    "not set"
                } else {
                    "no home directory"
                };
                places.push(Place {
                    origin,
                    path: None,
                    finding: finding.into(),
                });
                continue;
            };
            match holds_data(&path) {
                Ok(()) => {
                    return Ok(DataSource {
                        path,
                        origin,
                        downloaded: false,
                    })
                }
                Err(finding) => places.push(Place {
                    origin,
                    path: Some(path),
                    finding,
                }),
            }
        }
        Err(self.not_found(places, None))
    }

    /// [`Lookup::find`], then, if nothing was found, no path was given explicitly and
    /// downloading is allowed, downloads `mnist.npz` into the cache. When that fails too, the
    /// error is [`MnistError::NotFound`], telling where it looked, why the download failed and
    /// where to put the files.
    pub fn locate(&self) -> Result<DataSource, MnistError> {
        let not_found = match self.find() {
            Ok(source) => return Ok(source),
            Err(nf) => nf,
        };
        let (Some(download), Some(cache), None) = (&self.download, &self.cache_file, &self.explicit) else {
            return Err(MnistError::NotFound(not_found));
        };
        match download.fetch(cache) {
            Ok(()) => Ok(DataSource {
                path: cache.clone(),
                origin: Origin::Cache,
                downloaded: true,
            }),
            Err(e) => Err(MnistError::NotFound(self.not_found(not_found.places, Some(e)))),
        }
    }

    /// [`Lookup::locate`], then loads what it found.
    pub fn load(&self) -> Result<(Mnist, DataSource), MnistError> {
        let source = self.locate()?;
        Ok((Mnist::load(&source.path)?, source))
    }

    /// The error for nothing found at `places`.
    fn not_found(&self, places: Vec<Place>, download: Option<MnistError>) -> NotFound {
        let dir = match &self.explicit {
            Some(p) if !p.is_file() && p.extension().is_none_or(|e| e != "npz") => p,
            _ => &self.default_dir,
        };
        NotFound {
            places,
            download: download.map(Box::new),
            dir_hint: std::path::absolute(dir).unwrap_or_else(|_| dir.clone()),
            cache_file: self.cache_file.clone(),
        }
    }
}

/// Whether `path` can hold the data set: an existing file (an `.npz`), or a directory with
/// at least one of the IDX files or an `mnist.npz`. The error says why not.
fn holds_data(path: &Path) -> Result<(), String> {
    if path.is_file() {
        return Ok(());
    }
    if !path.is_dir() {
        return Err(match path.metadata() {
            Ok(_) => "is neither a file nor a directory".into(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".into(),
            Err(e) => format!("cannot be read: {e}"),
        });
    }
    if idx::any_present(path) || path.join(NPZ_FILE).is_file() {
        return Ok(());
    }
    Err(format!("holds neither the IDX files nor {NPZ_FILE}"))
}
