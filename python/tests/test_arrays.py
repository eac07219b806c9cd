"""NumPy arrays in: float32 and uint8 read in place, other layouts and real dtypes converted,
anything else refused by name; float32 out; hostile inputs give microdense errors."""

import tracemalloc

import numpy as np
import pytest

import microdense as md


@pytest.fixture
def x(mnist):
    _, (x_test, _) = mnist
    return x_test.reshape(-1, 784).astype(np.float32)


def _peak_bytes_during(f):
    """The most memory NumPy and Python allocated while ``f`` ran (tracemalloc sees every
    NumPy array buffer; the engine's own output buffer is Rust's)."""
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_float32_and_uint8_inputs_are_not_copied(model, x, mnist):
    _, (x_test, y_test) = mnist
    size = x.nbytes  # 31 MB
    assert _peak_bytes_during(lambda: model.predict(x)) < size // 20
    assert _peak_bytes_during(lambda: model.evaluate(x, y_test)) < size // 20
    assert _peak_bytes_during(lambda: model.predict(x_test)) < size // 20          # uint8 (n, 28, 28)
    # What a copy costs, to show the measurement sees one.
    assert _peak_bytes_during(lambda: model.predict(x.astype(np.float64))) > size


def test_other_dtypes_and_layouts_are_converted(model, x):
    expected = model.predict(x[:500])
    for other in (x[:500].astype(np.float64), x[:500].astype(np.int32), np.asfortranarray(x[:500]),
                  x[:1000][::2], x[:500].tolist()):
        converted = model.predict(other)
        reference = model.predict(np.ascontiguousarray(np.asarray(other, dtype=np.float32)))
        assert np.array_equal(converted, reference)
    assert np.array_equal(model.predict(np.asfortranarray(x[:500])), expected)
    assert np.array_equal(model.predict(x[:500].astype(np.float64)), expected)
    out = model.predict(x[:3].astype(np.float16))
    assert out.dtype == np.float32 and out.shape == (3, 10)
    assert model.predict(np.ones((2, 784), bool)).shape == (2, 10)


@pytest.mark.parametrize("bad, what", [
    (np.zeros((2, 784), np.complex64), "complex64"),
    (np.array([["a"] * 784] * 2), "<U1"),
    (np.array([[object()] * 784] * 2), "object"),
    ([[1.0] * 784, [1.0] * 3], "not an array of samples"),
    (np.zeros((2, 783), np.float32), r"x has shape \[2, 783\]"),
    (np.zeros(784, np.float32), r"x has shape \[784\]"),
    (np.float32(1.0), r"x has shape \[\]"),
])
def test_arrays_that_are_not_samples_are_refused_by_name(model, bad, what):
    with pytest.raises(md.ShapeError, match=what):
        model.predict(bad)


def test_empty_arrays(model):
    out = model.predict(np.zeros((0, 784), np.float32))
    assert out.shape == (0, 10) and out.dtype == np.float32
    with pytest.raises(md.Error, match="no samples|empty"):
        model.evaluate(np.zeros((0, 784), np.float32), np.zeros(0, np.int64))
    with pytest.raises(md.Error, match="no samples|empty"):
        model.fit(np.zeros((0, 784), np.float32), np.zeros(0, np.int64), verbose=0)


def test_nan_inputs(model, x, mnist):
    (_, _), (_, y_test) = mnist
    poisoned = x[:64].copy()
    poisoned[5, 100] = np.nan
    out = model.predict(poisoned)
    assert np.isnan(out[5]).all() and np.isfinite(np.delete(out, 5, axis=0)).all()
    before = model.get_weights()
    with pytest.raises(md.TrainingError, match="NaN or infinite"):
        model.fit(poisoned, y_test[:64], batch_size=64, verbose=0)
    # The step that met the NaN was not applied.
    for a, b in zip(model.get_weights(), before, strict=True):
        assert np.array_equal(a, b)


def test_huge_batch_sizes_and_thread_counts(model, x, mnist):
    (_, _), (_, y_test) = mnist
    # Keras takes a batch larger than the data as the whole data set in one step.
    h = model.fit(x[:100], y_test[:100], batch_size=10**12, epochs=1, verbose=0)
    assert model.training_config["iterations"] == 1 and len(h.history["loss"]) == 1
    model.fit(x[:100], y_test[:100], batch_size=32, threads=10**9, verbose=0)
    with pytest.raises(OverflowError):
        model.fit(x[:100], y_test[:100], batch_size=2**80, verbose=0)
    with pytest.raises(OverflowError):
        model.fit(x[:100], y_test[:100], epochs=-1, verbose=0)
    assert model.fit(x[:100], y_test[:100], epochs=0, verbose=0).history["loss"] == []


def test_corrupt_and_truncated_files(model, tmp_path, cli):
    model.save(tmp_path / "m.h5")
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.mdl")
    for name in ("m.h5", "m.keras", "m.mdl"):
        whole = (tmp_path / name).read_bytes()
        for cut in (len(whole) // 2, 100, 1):
            (tmp_path / f"cut-{name}").write_bytes(whole[:cut])
            with pytest.raises(md.FormatError) as raised:
                md.load(tmp_path / f"cut-{name}")
            assert str(raised.value) in cli("summary", tmp_path / f"cut-{name}", check=False).stderr
        flipped = bytearray(whole)
        flipped[len(whole) // 3] ^= 0xFF
        (tmp_path / f"flipped-{name}").write_bytes(bytes(flipped))
        try:
            back = md.load(tmp_path / f"flipped-{name}")
        except md.FormatError:
            continue
        # A flipped byte in a weight is still a model of the same shape (h5 and .keras have no
        # checksums); .mdl's checksum must catch it.
        assert name != "m.mdl"
        assert back.count_params() == model.count_params()
    (tmp_path / "dir.h5").mkdir()
    with pytest.raises(md.FormatError):
        md.load(tmp_path / "dir.h5")
