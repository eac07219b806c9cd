"""Files, summary, inspect and plot, against the CLI."""

import struct
import zlib
from xml.etree import ElementTree

import numpy as np
import pytest

import microdense as md


@pytest.mark.parametrize("name", ["m.h5", "m.keras", "m.mdl"])
def test_save_and_load_whole_models(model, tmp_path, name):
    model.save(tmp_path / name)
    back = md.load(tmp_path / name)
    for a, b in zip(back.get_weights(), model.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert back.training_config["learning_rate"] == model.training_config["learning_rate"]


@pytest.mark.parametrize("name", ["a.json", "a.yaml", "a.yml"])
def test_save_and_load_architectures(model, tmp_path, name):
    model.save(tmp_path / name)
    back = md.load(tmp_path / name)
    assert back.layers == model.layers and back.input_shape == [784]


def test_cli_reads_what_python_writes(model, tmp_path, cli):
    model.save(tmp_path / "m.keras")
    cli("convert", tmp_path / "m.keras", tmp_path / "m.h5")
    back = md.load(tmp_path / "m.h5")
    for a, b in zip(back.get_weights(), model.get_weights(), strict=True):
        assert np.array_equal(a, b)


def test_summary_prints_what_the_cli_prints(model, tmp_path, cli, capsys):
    model.save(tmp_path / "m.h5")
    expected = cli("summary", tmp_path / "m.h5").stdout
    model.summary()
    assert capsys.readouterr().out == expected
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] + "\n" == expected


def test_inspect_is_the_cli_report_as_a_dict(model, tmp_path, cli):
    model.save(tmp_path / "m.mdl", trainable_layers=2)
    report = model.inspect(batch=32, trainable_layers=2)
    assert report["text"] in cli("inspect", tmp_path / "m.mdl").stdout
    assert report["flash"] == (tmp_path / "m.mdl").stat().st_size
    assert report["status"] == "ok"
    m = report["model"]
    assert m["params"] == 40480 and m["weight_bytes"] == 161920
    assert [layer["trainable"] for layer in m["layers"]] == [False, False, True, False, True, False]
    assert m["training"]["trainable_layers"] == 2
    assert [row["params"] for row in m["fine_tune"]] == [210, 1230, 40480]
    assert all(row["total_n"] == row["weights"] + row["grads"] + row["optimizer_state"] + row["scratch_n"]
               for row in m["fine_tune"])
    # SGD and the tutorial's layers: the smallest firmware image serves it.
    assert m["firmware_kinds"] == []
    other = md.Model.from_spec("784,32:relu,bn,16:tanh,10:softmax", seed=1)
    other.compile(optimizer="adam")
    kinds = other.inspect(trainable_layers=1)["model"]["firmware_kinds"]
    assert kinds == ["normalization", "activations", "optimizers"]


def _png_pixels(png):
    """Width, height and the decompressed scanlines of a PNG, every chunk's CRC checked."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks = 8, {}
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        kind, body = png[at + 4:at + 8], png[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length:at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.setdefault(kind, []).append(body)
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    pixels = zlib.decompress(b"".join(chunks[b"IDAT"]))
    assert len(pixels) == height * (1 + width * channels * depth // 8)
    assert b"IEND" in chunks
    return width, height


def test_plot_gives_png_and_svg_for_jupyter(model, tmp_path, cli):
    diagram = model.plot(show_shapes=True)
    width, height = _png_pixels(diagram._repr_png_())
    assert height > width > 100
    svg = ElementTree.fromstring(diagram._repr_svg_())
    assert svg.tag.endswith("svg")
    texts = " ".join("".join(t.itertext()) for t in svg.iter() if t.tag.endswith("}text"))
    assert "(None, 784)" in texts and "dense_2" in texts
    diagram.save(tmp_path / "py.png")
    diagram.save(tmp_path / "py.svg")
    model.save(tmp_path / "m.h5")
    cli("plot", tmp_path / "m.h5", "-o", tmp_path / "cli.png", "--show-shapes")
    cli("plot", tmp_path / "m.h5", "-o", tmp_path / "cli.svg", "--show-shapes")
    assert (tmp_path / "py.png").read_bytes() == (tmp_path / "cli.png").read_bytes()
    assert (tmp_path / "py.svg").read_bytes() == (tmp_path / "cli.svg").read_bytes()
    assert model.plot()._repr_svg_() != diagram._repr_svg_()
    with pytest.raises(md.PlotError, match="rankdir"):
        model.plot(rankdir="up")


def test_set_weights_checks_every_shape(model):
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(784, 50), (50,), (50, 20), (20,), (20, 10), (10,)]
    weights[2] = weights[2] + 1
    model.set_weights(weights)
    assert np.array_equal(model.get_weights()[2], weights[2])
    with pytest.raises(md.ShapeError, match=r"dense_1/kernel has shape \[20, 50\] here; the layer needs \[50, 20\]"):
        model.set_weights(weights[:2] + [weights[2].T] + weights[3:])
    with pytest.raises(md.ShapeError, match="5 arrays were given; the model has 6 weight arrays \\(dense/kernel, "):
        model.set_weights(weights[:5])
