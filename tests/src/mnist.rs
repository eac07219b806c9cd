//! Where the tests find MNIST: where the CLI looks (`$MNIST_DIR`, `data/mnist` in the
//! repository, the download cache's `mnist.npz`), and only then `../shared/data/mnist`
//! beside the repository (where CI puts it). Tests and the Keras scripts read the four
//! gzipped IDX files; when MNIST is found in another form (an `.npz`, plain IDX files) they
//! are written once, from what was found, into `target/mnist-idx-<hash>`.

use flate2::write::GzEncoder;
use microdense::mnist::idx::{IDX_FILES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS};
use microdense::mnist::{Lookup, Mnist, Split, DEFAULT_DIR};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A directory with MNIST's four gzipped IDX files (see the module documentation); panics
/// with every place looked at when there is none.
pub fn mnist_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| gzipped_idx_dir(&mnist_source())).clone()
}

/// Where MNIST is, in any form the CLI reads.
pub fn mnist_source() -> PathBuf {
    let root = crate::repo_root();
    let lookup = Lookup {
        default_dir: root.join(DEFAULT_DIR),
        ..Lookup::from_env(None)
    };
    match lookup.find() {
        Ok(found) => found.path,
        Err(not_found) => {
            let beside = root.join("..").join("shared").join("data").join("mnist");
            assert!(
                beside.is_dir(),
                "{not_found}\n(the tests looked beside the repository too: {})",
                beside.display()
            );
            beside
        }
    }
}

/// `source` when it holds the four gzipped IDX files, else a directory they are written to.
fn gzipped_idx_dir(source: &Path) -> PathBuf {
    let gz = |dir: &Path, name: &str| dir.join(format!("{name}.gz"));
    if IDX_FILES.iter().all(|name| gz(source, name).is_file()) {
        return source.to_path_buf();
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut hasher);
    let stamp = std::fs::metadata(source).and_then(|m| m.modified()).ok();
    stamp.hash(&mut hasher);
    let dir = crate::repo_root()
        .join("target")
        .join(format!("mnist-idx-{:016x}", hasher.finish()));
    if IDX_FILES.iter().all(|name| gz(&dir, name).is_file()) {
        return dir;
    }
    let mnist = Mnist::load(source).unwrap_or_else(|e| panic!("MNIST in {}: {e}", source.display()));
    // Written next to the final name and renamed, so concurrent test processes never see a
    // half-written directory.
    let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("cannot create {}: {e}", tmp.display()));
    for (name, split, images) in [
        (TRAIN_IMAGES, &mnist.train, true),
        (TRAIN_LABELS, &mnist.train, false),
        (TEST_IMAGES, &mnist.test, true),
        (TEST_LABELS, &mnist.test, false),
    ] {
        let path = gz(&tmp, name);
        let mut file = GzEncoder::new(
            std::fs::File::create(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display())),
            flate2::Compression::fast(),
        );
        file.write_all(&idx(split, images))
            .and_then(|()| file.finish().map(drop))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    if std::fs::rename(&tmp, &dir).is_err() {
        // Another process got there first.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    dir
}

/// The IDX file of a split's images (`images`) or labels.
fn idx(split: &Split, images: bool) -> Vec<u8> {
    let n = split.labels.len() as u32;
    let (dims, data): (Vec<u32>, &[u8]) = if images {
        (vec![n, split.rows as u32, split.cols as u32], &split.images)
    } else {
        (vec![n], &split.labels)
    };
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
