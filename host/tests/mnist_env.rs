//! The environment variables `MNIST_DIR`, `MICRODENSE_CACHE` and `MICRODENSE_MNIST_URL`.
//! One test in its own binary, since it changes the process's environment.

mod mnist_common;

use std::env;
use std::path::PathBuf;

use microdense::mnist::{cache_file, Download, Lookup, Mnist, Origin, KERAS_SHA256};
use mnist_common::{sha256_hex, synthetic, Route, Server, TempDir};

#[test]
fn environment_variables_steer_lookup_cache_and_download() {
    let dir = TempDir::new("env");
    let m = synthetic(3, 3);
    let npz = dir.join("served.npz");
    m.write_npz(&npz, true).unwrap();
    let bytes = std::fs::read(&npz).unwrap();

    env::set_var("MICRODENSE_CACHE", dir.join("cache"));
    assert_eq!(cache_file(), Some(dir.join("cache/datasets/mnist.npz")));
    env::remove_var("MICRODENSE_CACHE");
    let home = PathBuf::from(env::var_os("HOME").unwrap());
    assert_eq!(
        cache_file(),
        Some(home.join(".cache/microdense/datasets/mnist.npz"))
    );

    env::set_var("MNIST_DIR", &npz);
    let lookup = Lookup::from_env(None);
    assert_eq!(lookup.default_dir, PathBuf::from("data/mnist"));
    let found = lookup.find().unwrap();
    assert_eq!((found.origin, &found.path), (Origin::EnvDir, &npz));
    let explicit = Lookup::from_env(Some(dir.path())).find().unwrap_err();
    assert_eq!(explicit.places[0].origin, Origin::Argument);
    env::set_var("MNIST_DIR", "");
    assert_eq!(Lookup::from_env(None).env_dir, None);
    env::remove_var("MNIST_DIR");

    assert_eq!(Download::from_env(), Download::keras());
    let server = Server::start(vec![Route::new("/mirror/mnist.npz", bytes.clone())], 1);
    env::set_var("MICRODENSE_MNIST_URL", format!("{}/mirror", server.base_url));
    env::set_var("MICRODENSE_CACHE", dir.join("cache"));
    let download = Download::from_env();
    assert_eq!(download.url(), format!("{}/mirror/mnist.npz", server.base_url));
    assert_eq!(download.sha256, KERAS_SHA256);
    // The served file is not Keras's, so give its own hash.
    let download = Download {
        sha256: sha256_hex(&bytes),
        ..download
    };
    let lookup = Lookup {
        default_dir: dir.join("data/mnist"),
        ..Lookup::from_env(None)
    }
    .with_download(Some(download));
    let (loaded, source) = lookup.load().unwrap();
    assert_eq!(loaded, m);
    assert_eq!(
        (source.origin, source.downloaded, source.path),
        (Origin::Cache, true, cache_file().unwrap())
    );
    assert_eq!(server.finish(), 1);
    assert_eq!(Mnist::load(&dir.join("cache/datasets/mnist.npz")).unwrap(), m);
    env::remove_var("MICRODENSE_MNIST_URL");
    env::remove_var("MICRODENSE_CACHE");
}
