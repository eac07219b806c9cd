"""In a real Jupyter kernel (nbclient + ipykernel) and on a real terminal (a pty): fit's
Keras-style progress, and a diagram shown as an image."""

import base64
import os
import pty
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import REPO


def _run_notebook(cells, timeout=600):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells])
    nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO)}}).execute()
    return notebook.cells


def test_fit_progress_and_plot_in_a_jupyter_notebook():
    fit, plot = _run_notebook([
        """
        import microdense as md
        (x, y), _ = md.mnist()
        m = md.Model.from_spec("784,50,sigmoid,20,sigmoid,10,softmax", seed=1)
        m.compile()
        history = m.fit(x[:6400], y[:6400], epochs=2, batch_size=64)
        """,
        "m.plot(show_shapes=True)",
    ])
    streams = "".join(o.get("text", "") for o in fit.outputs if o.output_type == "stream")
    assert "Epoch 1/2" in streams and "Epoch 2/2" in streams
    # One display per epoch, updated in place by the kernel (update_display_data) from the
    # first bar to Keras's epoch line.
    bars = [o for o in fit.outputs if o.output_type == "display_data"]
    assert len(bars) == 2, fit.outputs
    for bar in bars:
        text = bar.data["text/plain"]
        assert text.startswith("100/100 [==============================]") and "- loss: " in text, text
        assert "accuracy: " in text and "ms/step" in text
    assert "\r" not in streams

    (shown,) = [o for o in plot.outputs if o.output_type == "execute_result"]
    png = base64.b64decode(shown.data["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "<svg" in shown.data["image/svg+xml"] and "(None, 784)" in shown.data["image/svg+xml"]


def test_fit_progress_on_a_terminal():
    script = textwrap.dedent("""
        import microdense as md
        (x, y), _ = md.mnist()
        m = md.Model.from_spec("784,50,sigmoid,20,sigmoid,10,softmax", seed=1)
        m.compile()
        m.fit(x[:6400], y[:6400], epochs=1, batch_size=64)
    """)
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", script], stdin=follower, stdout=follower,
                               stderr=subprocess.PIPE, close_fds=True)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert process.wait(timeout=300) == 0, process.stderr.read().decode()
    text = out.decode().replace("\r\n", "\n")
    assert text.startswith("Epoch 1/1\n")
    # The bar is redrawn in place with \r, ending on Keras's epoch line.
    redraws = text.split("\r")
    assert len(redraws) >= 3, text
    assert "/100 [" in redraws[1] and "- loss: " in redraws[1]
    assert redraws[-1].startswith("100/100 [==============================]") and "ms/step" in redraws[-1]


def test_interrupting_the_kernel_stops_fit_and_the_model_stays_usable():
    """Jupyter's "interrupt the kernel" (a SIGINT to the kernel process) during a long fit."""
    manager_module = pytest.importorskip("jupyter_client.manager")
    manager, client = manager_module.start_new_kernel(kernel_name="python3", cwd=str(REPO))
    try:
        def run(code, timeout=300):
            return client.execute_interactive(code, timeout=timeout, output_hook=lambda _: None)["content"]

        assert run("""
import microdense as md
(x, y), _ = md.mnist()
m = md.Model.from_spec("784,50,sigmoid,20,sigmoid,10,softmax", seed=1)
m.compile()
""")["status"] == "ok"
        message_id = client.execute("history = m.fit(x, y, epochs=1000, batch_size=64, verbose=0)")
        time.sleep(2.0)
        interrupted = time.monotonic()
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=60)
        assert reply["parent_header"]["msg_id"] == message_id
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.monotonic() - interrupted < 5.0  # not the thousand epochs
        done = run("steps = m.training_config['iterations']; print(m.predict(x[:3]).shape, steps)")
        assert done["status"] == "ok"
        assert run("assert 0 < steps < 1000 * 938")["status"] == "ok"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
