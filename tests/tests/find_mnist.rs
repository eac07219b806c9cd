//! `scripts/find-mnist.sh`, which `scripts/test-all.sh` uses, on a fresh clone: MNIST is
//! found where the CLI looks for it (`$MNIST_DIR`, `data/mnist`, the download cache) before
//! the folder beside the repository that CI provides, and a clear error says where it
//! looked when it is nowhere. Downloads go to an unreachable address here.

use microdense_tests::{mnist_dir, repo_root, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh clone's `scripts/find-mnist.sh` in `dir/repo`, and an empty home in `dir/home`.
fn fresh_clone(dir: &TempDir) -> PathBuf {
    let scripts = dir.join("repo").join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::create_dir_all(dir.join("home")).unwrap();
    std::fs::copy(
        repo_root().join("scripts/find-mnist.sh"),
        scripts.join("find-mnist.sh"),
    )
    .unwrap();
    dir.join("repo")
}

/// Real MNIST (links to its files) in `dir`.
fn place_mnist(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(mnist_dir()).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
    }
}

fn find(dir: &TempDir, mnist_env: Option<&Path>) -> Output {
    let mut command = Command::new("bash");
    command
        .arg(dir.join("repo/scripts/find-mnist.sh"))
        .env_remove("MNIST_DIR")
        .env_remove("MICRODENSE_CACHE")
        .env("HOME", dir.join("home"))
        .env("MICRODENSE_MNIST_URL", "http://127.0.0.1:9/");
    if let Some(path) = mnist_env {
        command.env("MNIST_DIR", path);
    }
    command.output().unwrap()
}

fn found(out: &Output) -> PathBuf {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn a_fresh_clone_with_mnist_in_data_mnist_finds_it_there() {
    let dir = TempDir::new("find-mnist-data");
    let repo = fresh_clone(&dir);
    place_mnist(&repo.join("data/mnist"));
    place_mnist(&dir.join("shared/data/mnist"));
    assert_eq!(found(&find(&dir, None)), repo.join("data/mnist"));
    // $MNIST_DIR comes first, as for the CLI; one that holds nothing is passed over.
    let other = dir.join("other");
    place_mnist(&other);
    assert_eq!(found(&find(&dir, Some(&other))), other);
    assert_eq!(
        found(&find(&dir, Some(&dir.join("nowhere")))),
        repo.join("data/mnist")
    );
}

#[test]
fn the_download_cache_comes_before_the_folder_beside_the_repository() {
    let dir = TempDir::new("find-mnist-cache");
    fresh_clone(&dir);
    place_mnist(&dir.join("shared/data/mnist"));
    let beside = found(&find(&dir, None));
    assert_eq!(beside, dir.join("shared/data/mnist"));
    let cache = dir.join("home/.cache/microdense/datasets");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("mnist.npz"), b"an npz").unwrap();
    assert_eq!(found(&find(&dir, None)), cache.join("mnist.npz"));
}

#[test]
fn mnist_nowhere_is_a_clear_error() {
    let dir = TempDir::new("find-mnist-none");
    fresh_clone(&dir);
    let out = find(&dir, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("MNIST was not found") && stderr.contains("data/mnist"),
        "{stderr}"
    );
    assert!(
        !dir.join("home/.cache/microdense/datasets/mnist.npz").exists(),
        "a failed download leaves nothing"
    );
}
